/**
 * docker-compose.yml and docker-compose.tls.yml, validated by docker-compose itself.
 * There is no Docker engine on CI, but docker-compose 1.29 (Debian's `docker-compose`)
 * validates and normalises a file without one (`config -q`), and it rejects keys newer
 * than the 3.9 file format, so what passes here also works with `docker compose` v2.
 *
 * The binary is required, not optional: if it is missing these tests FAIL and say how
 * to install it (CI's .ci/run does).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BASE = path.join(ROOT, 'docker-compose.yml');
const TLS = path.join(ROOT, 'docker-compose.tls.yml');
const BIN = 'docker-compose';
const MISSING =
  `${BIN} is not installed, so the compose files cannot be validated. ` +
  "Install it with `apt-get install -y docker-compose` (Debian/Ubuntu; CI's .ci/run does this), then run the tests again.";

const tmp = mkdtempSync(path.join(tmpdir(), 'finsecure-compose-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The settings a real .env holds (fake values of a valid length). */
const TEST_ENV: Record<string, string> = {
  FINSECURE_ADMIN_TOKEN: 'test-admin-token-0123456789abcdef',
  FINSECURE_VIEWER_TOKEN: 'test-viewer-token-0123456789abcdef',
  FINSECURE_BANK_1_TOKEN: 'fst_test-bank-1-token-0123456789',
  FINSECURE_BANK_2_TOKEN: 'fst_test-bank-2-token-0123456789',
  FINSECURE_BANK_3_TOKEN: 'fst_test-bank-3-token-0123456789',
  // The key each bank's state is encrypted under at rest (issue 17 item 7).
  FINSECURE_BANK_1_STATE_KEY: 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=',
  FINSECURE_BANK_2_STATE_KEY: 'AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=',
  FINSECURE_BANK_3_STATE_KEY: 'AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=',
};

let envFiles = 0;
function envFile(vars: Record<string, string>): string {
  const file = path.join(tmp, `test-${++envFiles}.env`);
  writeFileSync(
    file,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  return file;
}

/**
 * Runs docker-compose on the given files with only the given variables: the caller's
 * own FINSECURE_* / MONGODB_* / COMPOSE_* variables and any .env in the repository must
 * not decide the result, so the environment is scrubbed and --env-file names a file.
 */
function compose(
  files: string[],
  vars: Record<string, string>,
  args: string[] = ['config', '-q'],
): SpawnSyncReturns<string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(FINSECURE_|MONGODB_|COMPOSE_|DOCKER_)/.test(k)),
  );
  const r = spawnSync(BIN, [...files.flatMap((f) => ['-f', f]), '--env-file', envFile(vars), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(MISSING);
  if (r.error) throw r.error;
  return r;
}

function expectValid(r: SpawnSyncReturns<string>, what: string): void {
  expect(r.status, `${what} should validate, but ${BIN} said:\n${r.stderr}`).toBe(0);
}

function expectInvalid(r: SpawnSyncReturns<string>, what: string, message: RegExp): void {
  expect(r.status, `${what} should be rejected`).not.toBe(0);
  expect(r.stderr, what).toMatch(message);
}

/** Writes a variant of docker-compose.yml (text in, text out) next to the real one's copy. */
function variant(name: string, edit: (text: string) => string): string {
  const original = readFileSync(BASE, 'utf8');
  const text = edit(original);
  expect(text, `${name}: the edit changed nothing; update the test to the current docker-compose.yml`).not.toBe(
    original,
  );
  const file = path.join(tmp, `${name}.yml`);
  writeFileSync(file, text);
  return file;
}

describe('docker-compose validates the deployment files', () => {
  it(`${BIN} is installed`, () => {
    const r = compose([BASE], TEST_ENV, ['version', '--short']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+/);
  });

  it('docker-compose.yml is valid with the settings of a filled-in .env', () => {
    expectValid(compose([BASE], TEST_ENV), 'docker-compose.yml');
  });

  it('docker-compose.yml plus docker-compose.tls.yml is valid', () => {
    expectValid(compose([BASE, TLS], TEST_ENV), 'docker-compose.yml + docker-compose.tls.yml');
  });

  it('is still valid before the bank tokens exist (the aggregator must start first to issue them)', () => {
    const { FINSECURE_ADMIN_TOKEN, FINSECURE_VIEWER_TOKEN } = TEST_ENV;
    expectValid(
      compose([BASE], {
        FINSECURE_ADMIN_TOKEN: FINSECURE_ADMIN_TOKEN!,
        FINSECURE_VIEWER_TOKEN: FINSECURE_VIEWER_TOKEN!,
      }),
      'without bank tokens',
    );
  });

  it('fails loudly, naming the variable, when the admin or viewer token is missing', () => {
    for (const secret of ['FINSECURE_ADMIN_TOKEN', 'FINSECURE_VIEWER_TOKEN']) {
      const vars = { ...TEST_ENV };
      delete vars[secret];
      expectInvalid(compose([BASE], vars), `without ${secret}`, new RegExp(`${secret}.*\\.env`));
      expectInvalid(compose([BASE], { ...vars, [secret]: '' }), `with an empty ${secret}`, new RegExp(secret));
    }
  });

  it('the validator really rejects broken files (a copy of docker-compose.yml, then one edit)', () => {
    // The unedited copy in the temp dir is valid: failures below come from the edits.
    expectValid(compose([variant('copy', (t) => t + '\n')], TEST_ENV), 'an unedited copy');
    expectInvalid(
      compose([variant('unknown-top-level-key', (t) => t + '\nbogus: 1\n')], TEST_ENV),
      'an unknown top-level key',
      /'bogus' does not match/,
    );
    expectInvalid(
      compose([variant('top-level-name', (t) => `name: finsecure\n${t}`)], TEST_ENV),
      'top-level name: (newer than 3.9)',
      /'name' does not match/,
    );
    expectInvalid(
      compose(
        [
          variant('start-interval', (t) =>
            t.replace(/^( +)start_period: .*$/m, (line, indent: string) => `${line}\n${indent}start_interval: 2s`),
          ),
        ],
        TEST_ENV,
      ),
      'healthcheck.start_interval (newer than 3.9)',
      /healthcheck value 'start_interval' does not match/,
    );
    expectInvalid(
      compose(
        [
          variant('unknown-service-key', (t) =>
            t.replace(/^( +)restart: unless-stopped$/m, '$1restart: unless-stopped\n$1bogus_option: true'),
          ),
        ],
        TEST_ENV,
      ),
      'an unknown service key',
      /Unsupported config option for services\.bank-1: 'bogus_option'/,
    );
    expectInvalid(
      compose([variant('bad-yaml', (t) => t.replace('services:', 'services:\n  - [unclosed'))], TEST_ENV),
      'malformed YAML',
      /while parsing/,
    );
  });
});

describe('what docker-compose makes of the files', () => {
  interface Normalised {
    services: Record<
      string,
      {
        environment?: Record<string, string | number | null>;
        volumes?: string[];
        secrets?: unknown[];
        ports?: unknown[];
      }
    >;
  }
  function normalised(files: string[]): Normalised {
    const r = compose(files, TEST_ENV, ['config']);
    expectValid(r, files.map((f) => path.basename(f)).join(' + '));
    return parse(r.stdout) as Normalised;
  }

  it('passes the tokens from .env to the aggregator and each bank, and each bank its own', () => {
    const { services } = normalised([BASE]);
    expect(services.aggregator!.environment!.FINSECURE_ADMIN_TOKEN).toBe(TEST_ENV.FINSECURE_ADMIN_TOKEN);
    expect(services.aggregator!.environment!.FINSECURE_VIEWER_TOKEN).toBe(TEST_ENV.FINSECURE_VIEWER_TOKEN);
    for (const n of [1, 2, 3]) {
      const env = services[`bank-${n}`]!.environment!;
      expect(env.FINSECURE_BANK_TOKEN, `bank-${n}`).toBe(TEST_ENV[`FINSECURE_BANK_${n}_TOKEN`]);
      expect(env.FINSECURE_BANK_ID, `bank-${n}`).toBe(`bank-${n}`);
      expect(env.FINSECURE_STATE_KEY, `bank-${n}`).toBe(TEST_ENV[`FINSECURE_BANK_${n}_STATE_KEY`]);
      expect(Object.values(services.aggregator!.environment!)).not.toContain(TEST_ENV[`FINSECURE_BANK_${n}_STATE_KEY`]);
      // Bank tokens never reach the aggregator, and no bank sees the admin token.
      expect(Object.values(services.aggregator!.environment!)).not.toContain(TEST_ENV[`FINSECURE_BANK_${n}_TOKEN`]);
      expect(Object.values(env)).not.toContain(TEST_ENV.FINSECURE_ADMIN_TOKEN);
    }
  });

  it("mounts each bank's data folder read-only at /data and a state volume at /state", () => {
    const { services } = normalised([BASE]);
    for (const n of [1, 2, 3]) {
      const volumes = services[`bank-${n}`]!.volumes!;
      expect(volumes, `bank-${n}`).toContain(`${path.join(ROOT, 'deploy', 'data', `bank-${n}`)}:/data:ro`);
      expect(volumes, `bank-${n}`).toContain(`bank-${n}-state:/state:rw`);
    }
  });

  it('with docker-compose.tls.yml: HTTPS on the aggregator, wss:// and the CA on the banks, files from FINSECURE_TLS_DIR', () => {
    const r = compose([BASE, TLS], { ...TEST_ENV, FINSECURE_TLS_DIR: '/etc/finsecure-tls' }, ['config']);
    expectValid(r, 'docker-compose.yml + docker-compose.tls.yml');
    const doc = parse(r.stdout) as Normalised & { secrets: Record<string, { file: string }> };
    const agg = doc.services.aggregator!.environment!;
    expect(agg.FINSECURE_TLS_CERT).toBe('/run/secrets/finsecure_tls_cert');
    expect(agg.FINSECURE_TLS_KEY).toBe('/run/secrets/finsecure_tls_key');
    for (const n of [1, 2, 3]) {
      const env = doc.services[`bank-${n}`]!.environment!;
      expect(env.FINSECURE_SERVER).toBe('wss://aggregator:8080/ws/bank');
      expect(env.FINSECURE_CA_FILE).toBe('/run/secrets/finsecure_tls_ca');
      // Unchanged by the override.
      expect(env.FINSECURE_BANK_ID).toBe(`bank-${n}`);
    }
    expect(doc.secrets.finsecure_tls_cert!.file).toBe('/etc/finsecure-tls/server.crt');
    expect(doc.secrets.finsecure_tls_key!.file).toBe('/etc/finsecure-tls/server.key');
    expect(doc.secrets.finsecure_tls_ca!.file).toBe('/etc/finsecure-tls/ca.crt');
  });
});
