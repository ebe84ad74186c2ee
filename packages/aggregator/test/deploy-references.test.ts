/**
 * The deployment files refer to the code, and the code moves: these tests fail when a
 * compose service points at a Dockerfile or build context that is gone, runs a subcommand
 * its CLI lacks, sets an environment variable its program does not read (a typo there is
 * silently ignored at run time), or when .env.example forgets a setting. What the images
 * themselves build, copy and run: deploy-images.test.ts.
 *
 * The files are read with helpers/deploy-files.ts; docker-compose itself validates them in
 * deploy-compose.test.ts.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BANK_ENV } from '../../bank-client/src/config/index.js';
import { CONFIG_FILE_ENV, ENV_VARS } from '../src/config/schema.js';
import { CONSOLE_ENV } from '../../bank-client/src/console/config.js';
import {
  AGGREGATOR_DOCKERFILE,
  BANK_DOCKERFILE,
  ROOT,
  aggregatorNames,
  asArray,
  bankNames,
  base,
  buildOf,
  envLines,
  envOf,
  finalStage,
  interpolated,
  read,
  readDockerfile,
  serviceNames,
  tls,
  volumeParts,
  withOverride,
} from './helpers/deploy-files.js';

describe('docker-compose.yml: services and their builds', () => {
  it('has mongo, one aggregator and three banks, on the 3.9 file format', () => {
    expect(base.version).toBe('3.9');
    expect(tls.version).toBe('3.9');
    expect(serviceNames).toContain('mongo');
    expect(aggregatorNames).toEqual(['aggregator']);
    expect(bankNames).toEqual(['bank-1', 'bank-2', 'bank-3']);
    // The dashboard is served by the aggregator, not by a service of its own.
    expect(serviceNames.filter((n) => /dashboard/.test(n))).toEqual([]);
  });

  it('every build context and Dockerfile exists in the repository', () => {
    for (const [name, service] of Object.entries(base.services)) {
      const b = buildOf(service);
      if (!b) {
        expect(service.image ?? '', `${name} has neither build nor image`).toMatch(/^\S+$/);
        continue;
      }
      const context = path.resolve(ROOT, b.context);
      expect(
        existsSync(context) && statSync(context).isDirectory(),
        `${name}: build context ${b.context} is not a directory`,
      ).toBe(true);
      expect(
        existsSync(path.join(context, b.dockerfile)),
        `${name}: ${b.dockerfile} does not exist in ${b.context}`,
      ).toBe(true);
    }
  });

  it('a command given in compose is a subcommand the CLI of that image defines', () => {
    for (const name of bankNames) {
      const [sub] = asArray(base.services[name]!.command);
      if (sub === undefined) continue;
      expect(read('packages/bank-client/src/cli/main.ts'), `${name}: command "${sub}"`).toContain(`.command('${sub}')`);
    }
    for (const name of aggregatorNames) {
      // The aggregator CLI has no subcommands: anything in `command:` must be flags.
      for (const word of asArray(base.services[name]!.command))
        expect(word.startsWith('-') || !/^[a-z]/.test(word), `${name}: ${word}`).toBe(true);
    }
    for (const [name, s] of Object.entries(base.services))
      expect(s.entrypoint, `${name} overrides the image's ENTRYPOINT`).toBeUndefined();
  });
});

describe('environment variables: set only what the programs read', () => {
  const aggregatorKeys = new Set(Object.keys(ENV_VARS));
  const bankKeys = new Set(Object.keys(BANK_ENV));

  it('every variable set on the aggregator (compose, TLS override, image) is a key of ENV_VARS', () => {
    for (const name of aggregatorNames) {
      for (const key of Object.keys(withOverride(name).environment as Record<string, string>)) {
        expect(
          aggregatorKeys.has(key),
          `${name}: ${key} is not read by the aggregator (ENV_VARS in packages/aggregator/src/config/schema.ts)`,
        ).toBe(true);
      }
    }
    for (const key of Object.keys(envLines(finalStage(readDockerfile(AGGREGATOR_DOCKERFILE))))) {
      if (/^(FINSECURE_|MONGODB_)/.test(key))
        expect(aggregatorKeys.has(key), `${AGGREGATOR_DOCKERFILE}: ENV ${key}`).toBe(true);
    }
  });

  it('every variable set on a bank (compose, TLS override, image) is a key of BANK_ENV', () => {
    for (const name of bankNames) {
      for (const key of Object.keys(withOverride(name).environment as Record<string, string>)) {
        expect(
          bankKeys.has(key),
          `${name}: ${key} is not read by the bank client (BANK_ENV in packages/bank-client/src/config/env.ts)`,
        ).toBe(true);
      }
    }
    for (const key of Object.keys(envLines(finalStage(readDockerfile(BANK_DOCKERFILE))))) {
      if (/^(FINSECURE_|MONGODB_)/.test(key)) expect(bankKeys.has(key), `${BANK_DOCKERFILE}: ENV ${key}`).toBe(true);
    }
  });

  it('the aggregator: MongoDB service, all interfaces, port 8080, tokens required from .env', () => {
    const agg = base.services.aggregator!;
    const env = envOf(agg);
    const mongoHost = /^mongodb:\/\/([^:/]+)/.exec(env.MONGODB_URI ?? '')?.[1];
    expect(mongoHost, 'MONGODB_URI').toBe('mongo');
    expect(Object.keys(base.services)).toContain(mongoHost);
    const deps = Array.isArray(agg.depends_on) ? agg.depends_on : Object.keys(agg.depends_on ?? {});
    expect(deps).toContain('mongo');
    expect(env.FINSECURE_HOST).toBe('0.0.0.0');
    expect(agg.ports).toContain('8080:8080');
    for (const secret of ['FINSECURE_ADMIN_TOKEN', 'FINSECURE_VIEWER_TOKEN']) {
      // ${NAME:?message}: docker compose refuses to start without it.
      expect(env[secret], secret).toMatch(new RegExp(`^\\$\\{${secret}:\\?.+\\}$`));
    }
    expect(agg.restart).toBe('unless-stopped');
  });

  it('mongo: mongo:7 with a named volume and a health check', () => {
    const mongo = base.services.mongo!;
    expect(mongo.image).toBe('mongo:7');
    const dbVolume = (mongo.volumes ?? []).map(volumeParts).find((v) => v.target === '/data/db');
    expect(dbVolume, 'mongo needs a volume at /data/db').toBeDefined();
    expect(Object.keys(base.volumes ?? {}), 'mongo: /data/db must be a named volume').toContain(dbVolume!.source);
    expect(mongo.healthcheck?.test).toBeDefined();
  });

  it('each bank: its own id, token variable, read-only data and state volume, and the aggregator URL', () => {
    const port = envOf(base.services.aggregator!).FINSECURE_PORT ?? '8080';
    const ids = new Set<string>();
    const states = new Set<string>();
    for (const [i, name] of bankNames.entries()) {
      const n = i + 1;
      const s = base.services[name]!;
      const env = envOf(s);
      expect(env.FINSECURE_BANK_ID, name).toBe(name);
      ids.add(env.FINSECURE_BANK_ID!);
      expect(env.FINSECURE_BANK_TOKEN, name).toMatch(new RegExp(`^\\$\\{FINSECURE_BANK_${n}_TOKEN(:[-?].*)?\\}$`));
      expect(env.FINSECURE_SERVER, name).toBe(`ws://aggregator:${port}/ws/bank`);
      expect(env.FINSECURE_DATA, name).toBe('/data/train.csv');
      const volumes = (s.volumes ?? []).map(volumeParts);
      const data = volumes.find((v) => v.target === '/data');
      expect(data, `${name}: no volume at /data`).toBeDefined();
      expect(data!.mode, `${name}: /data must be read-only`).toBe('ro');
      const state = volumes.find((v) => v.target === env.FINSECURE_STATE_DIR);
      expect(state, `${name}: no volume at FINSECURE_STATE_DIR (${env.FINSECURE_STATE_DIR})`).toBeDefined();
      expect(Object.keys(base.volumes ?? {}), `${name}: state volume must be a named volume`).toContain(state!.source);
      states.add(state!.source);
      expect(data!.source, `${name}: data and state must be different volumes`).not.toBe(state!.source);
      expect(s.restart, name).toBe('unless-stopped');
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      expect(deps, name).toContain('aggregator');
      // With TLS: wss:// and a CA file from a secret.
      const tlsEnv = withOverride(name).environment as Record<string, string>;
      expect(tlsEnv.FINSECURE_SERVER, `${name} with TLS`).toBe(`wss://aggregator:${port}/ws/bank`);
      expect(tlsEnv.FINSECURE_CA_FILE, `${name} with TLS`).toMatch(/^\/run\/secrets\//);
    }
    expect(ids.size).toBe(bankNames.length);
    expect(states.size).toBe(bankNames.length);
  });

  it('the TLS override mounts the certificate and key on the aggregator only, and the CA on the banks', () => {
    const agg = withOverride('aggregator');
    const aggEnv = agg.environment as Record<string, string>;
    const secretPath = (name: string) => `/run/secrets/${name}`;
    expect((agg.secrets ?? []).map(secretPath)).toEqual(
      expect.arrayContaining([aggEnv.FINSECURE_TLS_CERT, aggEnv.FINSECURE_TLS_KEY]),
    );
    for (const name of bankNames) {
      const bank = withOverride(name);
      expect((bank.secrets ?? []).map(secretPath), name).toEqual([
        (bank.environment as Record<string, string>).FINSECURE_CA_FILE,
      ]);
    }
    for (const [name, s] of Object.entries(tls.secrets ?? {}))
      expect(s.file, name).toMatch(/\/(ca|server)\.(crt|key)$/);
  });
});

describe('.env.example documents every setting', () => {
  const text = read('.env.example');
  const mentioned = (key: string) => new RegExp(`^#?\\s*${key}=`, 'm').test(text);
  const active = new Set([...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
  const composeVars = new Set([
    ...interpolated(read('docker-compose.yml')),
    ...interpolated(read('docker-compose.tls.yml')),
  ]);

  // The aggregator's, the bank daemon's and the bank console's, and the config file's variable.
  const documented = [...Object.keys(ENV_VARS), ...Object.keys(BANK_ENV), ...Object.keys(CONSOLE_ENV), CONFIG_FILE_ENV];

  it('every key of the aggregator ENV_VARS, the bank BANK_ENV and the console CONSOLE_ENV, each with a comment', () => {
    for (const key of documented) {
      expect(mentioned(key), `.env.example does not mention ${key}`).toBe(true);
    }
    // A comment right above each block: no bare list of names.
    const lines = text.split('\n');
    for (const key of documented) {
      const i = lines.findIndex((l) => new RegExp(`^#?\\s*${key}=`).test(l));
      let j = i - 1;
      while (j >= 0 && /^#?\s*[A-Z][A-Z0-9_]*=/.test(lines[j]!)) j--;
      expect(j >= 0 && lines[j]!.startsWith('#') && lines[j]!.length > 2, `${key} has no comment above it`).toBe(true);
    }
  });

  it('every variable the compose files interpolate, including the per-bank tokens', () => {
    expect(composeVars).toContain('FINSECURE_BANK_1_TOKEN');
    for (const name of composeVars) expect(mentioned(name), `.env.example does not mention ${name}`).toBe(true);
  });

  it('every setting it leaves active is one the compose files actually forward', () => {
    for (const name of active)
      expect(composeVars.has(name), `${name}= in .env.example has no effect: docker-compose.yml never uses it`).toBe(
        true,
      );
  });

  it('ships no secret: tokens are empty, with how to generate them', () => {
    for (const secret of [
      'FINSECURE_ADMIN_TOKEN',
      'FINSECURE_VIEWER_TOKEN',
      'FINSECURE_BANK_1_TOKEN',
      'FINSECURE_BANK_2_TOKEN',
      'FINSECURE_BANK_3_TOKEN',
    ]) {
      expect(text, secret).toMatch(new RegExp(`^${secret}=$`, 'm'));
    }
    expect(text).toContain('openssl rand -base64 32');
  });
});
