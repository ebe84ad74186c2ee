/** The finsecure-aggregator binary as an operator runs it. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAINING, ENV_VARS } from '../src/config/schema.js';
import { flagOfSetting } from '../src/cli/option-flags.js';
import { DEFAULT_RULES } from '../src/round/rules.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const run = (args: string[], env: Record<string, string> = {}, cwd?: string) => {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
    ...(cwd ? { cwd } : {}),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const root = mkdtempSync(path.join(tmpdir(), 'finsecure-aggregator-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
/** A new empty directory under the test's temporary root. */
const freshDir = (): string => mkdtempSync(path.join(root, `d${++dirs}-`));

describe('finsecure-aggregator CLI', () => {
  it('--help explains every flag and where secrets come from', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--config',
      '--host',
      '--port',
      '--data-dir',
      '--tls-cert',
      '--tls-key',
      '--rounds',
      '--fraction',
      '--min-banks',
      '--quorum',
      '--round-timeout',
      '--grace',
      '--strategy',
      '--max-share',
      '--normalize-steps',
      '--no-normalize-steps',
      '--loss-exponent',
      '--server-learning-rate',
      '--server-momentum',
      '--max-update-norm',
      '--epochs',
      '--batch-size',
      '--learning-rate',
      '--smote-ratio',
      '--smote-k',
      '--smote-max-multiplier',
      '--update-encoding',
      '--auto-start',
      '--backend',
      '--log-level',
    ]) {
      expect(r.out).toContain(flag);
    }
    expect(r.out).toContain('FINSECURE_ADMIN_TOKEN');
  });

  it('--no-normalize-steps overrides the environment', () => {
    // The port error proves the config was validated; no normalizeSteps/maxShare conflict is reported.
    const r = run(['--no-normalize-steps', '--max-share', '0.5'], {
      FINSECURE_NORMALIZE_STEPS: 'true',
      FINSECURE_PORT: '70000',
    });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/port: Too big/i);
    expect(r.err).not.toMatch(/normalizeSteps/);
    const clash = run(['--max-share', '0.5'], { FINSECURE_NORMALIZE_STEPS: 'true', FINSECURE_PORT: '70000' });
    expect(clash.err).toMatch(/normalizeSteps cannot be combined with maxShare \(0\.5\) < 1/);
  });

  it.each([
    [['--port', 'eighty'], {}, /--port must be an integer in 0\.\.65535, got "eighty"/],
    [['--fraction', '0'], {}, /--fraction must be a number in \(0, 1\], got "0"/],
    [['--quorum', '3', '--min-banks', '2'], {}, /rules\.quorum: quorum \(3\) cannot exceed minBanks \(2\)/],
    [['--update-encoding', 'float8'], {}, /training\.updateEncoding/],
    [[], { FINSECURE_PORT: 'x' }, /FINSECURE_PORT must be a number, got "x"/],
    [['--tls-cert', 'a.pem'], {}, /tlsCert and tlsKey must be given together/],
    [['--normalize-steps', '--max-share', '0.5'], {}, /rules\.normalizeSteps: normalizeSteps cannot be combined/],
    [['--strategy', 'fedmedian', '--loss-exponent', '1'], {}, /reset lossExponent \(1 → 0\) or use fedavg/],
    [['--server-momentum', '1'], {}, /--server-momentum must be a number in \[0, 1\), got "1"/],
    [['--smote-max-multiplier', '0'], {}, /--smote-max-multiplier must be a number in \(0, 1000000\], got "0"/],
  ])('rejects %j %j with a message naming the setting', (args, env, message) => {
    const r = run(args as string[], env as Record<string, string>);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message as RegExp);
  });

  it('refuses unknown keys of the config file, naming the file and each key (exit 2)', () => {
    const dir = freshDir();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ port: 0, bogusKey: 1, rules: { roundz: 3 } }));
    const r = run(['--config', 'config.json'], {}, dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('config.json:1:22: unknown setting "bogusKey"');
    expect(r.err).toContain('config.json:1:42: unknown setting "rules.roundz" (did you mean "rules.rounds"?)');
    expect(r.out).toBe('');
    // FINSECURE_CONFIG names the same file, with the same check.
    expect(run([], { FINSECURE_CONFIG: 'config.json' }, dir).err).toContain('unknown setting "bogusKey"');
  });

  it('names the file, the variable or the flag that supplied a bad value', () => {
    const dir = freshDir();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ port: 'eighty' }));
    const file = run(['--config', 'config.json'], {}, dir);
    expect(file.code).toBe(2);
    expect(file.err).toContain('config.json:1:9: port: Invalid input: expected number, received string');
    const env = run([], { FINSECURE_QUORUM: '0' });
    expect(env.code).toBe(2);
    expect(env.err).toContain('FINSECURE_QUORUM: rules.quorum: Too small');
    const flag = run(['--quorum', '5'], { FINSECURE_QUORUM: '0' });
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('--quorum: rules.quorum: quorum (5) cannot exceed minBanks (2)');
    expect(flag.err).not.toContain('FINSECURE_QUORUM');
  });

  it('read-only commands refuse a place without a store: exit 2, nothing created, errors on stderr only', () => {
    const dir = freshDir();
    const typo = path.join(dir, 'typo');
    const list = run(['users', 'list', '--data-dir', typo]);
    expect(list).toMatchObject({ code: 2, out: '' });
    expect(list.err).toBe(
      `finsecure-aggregator users: no aggregator store at ${typo} (finsecure.db): check --data-dir\n`,
    );
    for (const cmd of ['disable', 'reset-password'])
      expect(run(['users', cmd, 'carol', '--data-dir', typo]).code).toBe(2);
    const db = path.join(dir, 'nope.db');
    expect(run(['users', 'list', '--sqlite-path', db]).err).toContain(
      `no aggregator store at ${db}: check --sqlite-path`,
    );
    for (const json of [[], ['--json']]) {
      const verify = run(['audit', 'verify', '--data-dir', typo, ...json]);
      expect(verify).toMatchObject({ code: 2, out: '' });
      expect(verify.err).toContain(`no aggregator store at ${typo} (finsecure.db): check --data-dir`);
    }
    expect(existsSync(typo)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('audit verify refuses an empty bank heads file (exit 2, naming it)', () => {
    const dir = freshDir();
    const data = path.join(dir, 'data');
    // `users add` may start a store: a real one to verify.
    expect(run(['users', 'add', 'carol', '--role', 'auditor', '--data-dir', data]).code).toBe(0);
    expect(run(['audit', 'verify', '--data-dir', data]).code).toBe(0);
    const heads = path.join(dir, 'heads.jsonl');
    writeFileSync(heads, '\n');
    const r = run(['audit', 'verify', '--data-dir', data, '--bank-heads', heads, '--json']);
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toContain(`bank heads file ${heads} holds no heads`);
  });

  it.each([
    [['--bogus'], "error: unknown option '--bogus'"],
    [['--port'], "error: option '-p, --port <port>' argument missing"],
    [['--port', 'x'], '--port must be an integer in 0..65535, got "x"'],
    [['users', 'list', '--bogus'], "error: unknown option '--bogus'"],
    [['users', 'list', '--data-dir'], "error: option '--data-dir <dir>' argument missing"],
    [['users', 'frobnicate'], "error: unknown command 'frobnicate'"],
    [['audit', 'verify', '--bogus'], "error: unknown option '--bogus'"],
    [['audit', 'verify', 'extra'], 'error: too many arguments'],
  ])('usage error %j: exit 2, one line and a pointer to --help', (args, message) => {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(message);
    expect(lines[1]).toBe('(run with --help for usage)');
  });

  it('--help lists the subcommands, and each flag with its default and its variable from the loader tables', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    const help = r.out.replace(/\s+/g, ' ');
    expect(help).toContain('finsecure-aggregator users add|list|disable|enable|reset-mfa|reset-password');
    expect(help).toContain('finsecure-aggregator audit verify');
    let flagged = 0;
    for (const [name, { key }] of Object.entries(ENV_VARS)) {
      const flag = flagOfSetting(key);
      if (!flag) continue;
      flagged++;
      expect(help, name).toMatch(new RegExp(`${flag} [^]*?env: ${name}\\)`));
    }
    expect(flagged).toBeGreaterThan(60);
    for (const [flag, setting, value] of [
      ['--rounds', 'FINSECURE_ROUNDS', DEFAULT_RULES.rounds],
      ['--min-banks', 'FINSECURE_MIN_BANKS', DEFAULT_RULES.minBanks],
      ['--quorum', 'FINSECURE_QUORUM', DEFAULT_RULES.quorum],
      ['--round-timeout', 'FINSECURE_ROUND_TIMEOUT_MS', DEFAULT_RULES.roundTimeoutMs],
      ['--grace', 'FINSECURE_GRACE_MS', DEFAULT_RULES.graceMs],
      ['--evaluation-timeout', 'FINSECURE_EVALUATION_TIMEOUT_MS', DEFAULT_RULES.evaluationTimeoutMs],
      ['--epochs', 'FINSECURE_EPOCHS', DEFAULT_TRAINING.epochs],
    ] as const)
      expect(help).toMatch(new RegExp(`${flag} <\\w+> [^(]*(\\([^)]*\\) )*?\\(default: ${value}, env: ${setting}\\)`));
  });
});
