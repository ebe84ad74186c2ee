/**
 * The state key is required (issue 17 item 7): without one, every command that reads the
 * bank's state directory stops with exit code 2 and says how to make a key and where to give
 * it, before anything is written; `finsecure-bank state-key new` makes one (mode 0600,
 * never overwriting); a fresh directory with a key works; a wrong key is refused; and the
 * in-process BankClient refuses a state directory nobody opened with a key.
 * Spawns the built CLI (dist/: `npx tsc -b packages/bank-client` first).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, tempDir, writeShards } from '../../aggregator/test/helpers/federation.js';
import { BankClient, loadBankConfig, loadLocalData } from '../src/index.js';
import { DEFAULT_MLP, initWeights, manifestFor } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import {
  createEnvelopeCipher,
  keyIdOf,
  saveStateModel,
  StateKeyError,
  STATE_KEY_MARKER,
} from '../src/state-crypto/index.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
/** "How to make one" part of the message, as a regex (flag, both variables, the command). */
const HOWTO =
  /create one with `finsecure-bank state-key new --out <file>`.*give it with --state-key-file <file>, env FINSECURE_STATE_KEY_FILE=<file>, or the key itself in env FINSECURE_STATE_KEY/;

let dir: string;
let shard: string;
beforeAll(async () => {
  dir = tempDir('finsecure-state-key-');
  [shard] = await writeShards(dir, 1, 200);
});
afterAll(() => cleanup(dir));

function run(args: string[], env: Record<string, string> = {}) {
  // No FINSECURE_* from the caller's environment decides the result.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FINSECURE_')));
  return spawnSync(process.execPath, [cli, ...args], {
    env: { ...clean, FINSECURE_BACKEND: 'cpu', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('the state key is required', () => {
  it('a fresh directory without a key stops start, console, users and audit-heads with exit 2, saying how to make one', () => {
    const sd = path.join(dir, 'fresh');
    const commands = [
      ['start', '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '--data', shard!, '--state-dir', sd],
      ['console', '--state-dir', sd, '--console-port', '0'],
    ];
    for (const args of commands) {
      const r = run(args, { FINSECURE_BANK_TOKEN: 'x'.repeat(24) });
      expect(r.status, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^finsecure-bank: no state key is configured for ${sd}: `));
      expect(r.stderr).toMatch(HOWTO);
    }
    // Read-only commands have nothing to open there: they say so (a mistyped --state-dir?).
    for (const args of [
      ['users', 'list', '--state-dir', sd],
      ['audit-heads', '--state-dir', sd],
    ]) {
      const r = run(args);
      expect(r.status, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^finsecure-bank: no bank state at ${sd} .*check --state-dir`));
    }
    // Nothing was written: the key check comes before anything touches the directory.
    expect(existsSync(sd)).toBe(false);
    expect(run(['start', '--help']).stdout).toMatch(/--state-key-file <file>\s+REQUIRED/);
  }, 120_000);

  it('state-key new writes 32 random bytes as base64 with mode 0600 and never overwrites', () => {
    const file = path.join(dir, 'bank-a.key');
    const r = run(['state-key', 'new', '--out', file]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const key = Buffer.from(text.trim(), 'base64');
    expect(key).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The key id is printed, never the key.
    expect(r.stdout).toContain(`key id ${keyIdOf(key)}`);
    expect(r.stdout).not.toContain(text.trim());
    const again = run(['state-key', 'new', '--out', file]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/bank-a\.key already exists: refusing to overwrite a state key/);
    expect(readFileSync(file, 'utf8')).toBe(text);
    const other = run(['state-key', 'new', '--out', path.join(dir, 'bank-b.key')]);
    expect(readFileSync(path.join(dir, 'bank-b.key'), 'utf8')).not.toBe(text);
    expect(other.status).toBe(0);
    expect(run(['state-key', 'new', '--out', path.join(dir, 'no-such-dir', 'k')]).stderr).toMatch(
      /no-such-dir\/k: cannot write the state key \(no such directory\)/,
    );
  });

  it('a fresh directory with a key works; the wrong key is refused with exit 2', () => {
    const sd = path.join(dir, 'keyed');
    const keyFile = path.join(dir, 'keyed.key');
    expect(run(['state-key', 'new', '--out', keyFile]).status).toBe(0);
    const add = run(['users', 'add', 'ana', '--role', 'analyst', '--state-dir', sd, '--state-key-file', keyFile]);
    expect(add.status, add.stderr).toBe(0);
    expect(existsSync(path.join(sd, STATE_KEY_MARKER))).toBe(true);
    const list = run(['users', 'list', '--state-dir', sd], { FINSECURE_STATE_KEY_FILE: keyFile });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ana\s+analyst/m);
    const wrong = run(['users', 'list', '--state-dir', sd], {
      FINSECURE_STATE_KEY: randomBytes(32).toString('base64'),
    });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(
      /the state key from FINSECURE_STATE_KEY \(key id [0-9a-f]{16}\) is not the key .*keyed is encrypted under \(key id [0-9a-f]{16}\)/,
    );
    const missing = run(['users', 'list', '--state-dir', sd]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/keyed is encrypted at rest \(key id [0-9a-f]{16}\) but no state key is configured/);
    // `start` gets past the key check and fails later, on what comes next (no aggregator).
    const start = run(
      ['start', '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '--data', path.join(dir, 'nope.csv')],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(24), FINSECURE_STATE_DIR: sd, FINSECURE_STATE_KEY_FILE: keyFile },
    );
    expect(start.status).toBe(2);
    expect(start.stderr).toContain('nope.csv');
    expect(start.stderr).not.toMatch(/state key/);
    expect(start.stdout + start.stderr).not.toContain('open to other users');
    // A directory made beforehand with a looser mode keeps it, with a warning at start.
    chmodSync(sd, 0o755);
    const open = run(
      ['start', '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '--data', path.join(dir, 'nope.csv')],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(24), FINSECURE_STATE_DIR: sd, FINSECURE_STATE_KEY_FILE: keyFile },
    );
    expect(open.status).toBe(2);
    expect(open.stdout + open.stderr).toContain(
      `${sd} is open to other users of this machine (mode 0755): \`chmod 700 ${sd}\``,
    );
    expect(statSync(sd).mode & 0o777).toBe(0o755);
    chmodSync(sd, 0o700);
    // A file where the state directory should be: the setting is named, no stack.
    const inTheWay = path.join(dir, 'a-file');
    writeFileSync(inTheWay, 'x');
    const blocked = run(
      ['start', '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '--data', shard!, '--state-dir', inTheWay],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(24), FINSECURE_STATE_KEY_FILE: keyFile },
    );
    expect(blocked.status).toBe(2);
    expect(blocked.stderr).toContain(
      `--state-dir ${inTheWay}: cannot use it as the bank's state directory (a file is in the way`,
    );
    expect(blocked.stderr).not.toMatch(/\n +at /);
  }, 120_000);

  it("start names a config file's stateKeyFile or stateKey by the file's line and column, never the variable", () => {
    const cfg = path.join(dir, 'bank-key.json');
    const base = { server: 'ws://127.0.0.1:1/ws/bank', bankId: 'a', data: shard, token: 'x'.repeat(24) };
    const missingKey = path.join(dir, 'no-such.key');
    writeFileSync(
      cfg,
      JSON.stringify({ ...base, stateDir: path.join(dir, 'cfg-a'), stateKeyFile: missingKey }, null, 2),
    );
    const fromFile = run(['start', '--config', cfg]);
    expect(fromFile.status, fromFile.stderr).toBe(2);
    expect(fromFile.stderr).toContain(
      `${cfg}:7:19: stateKeyFile ${missingKey}: cannot read the state key (no such file)`,
    );
    expect(fromFile.stderr).not.toContain('FINSECURE_STATE_KEY_FILE');
    writeFileSync(cfg, JSON.stringify({ ...base, stateDir: path.join(dir, 'cfg-b'), stateKey: 'not-a-key' }, null, 2));
    const badKey = run(['start', '--config', cfg]);
    expect(badKey.status, badKey.stderr).toBe(2);
    expect(badKey.stderr).toContain(`${cfg}:7:15: stateKey: a state key must be 32 random bytes`);
    expect(badKey.stderr).not.toContain('not-a-key');
    // From the environment, the variable is still named.
    const fromEnv = run(
      [
        'start',
        '--server',
        'ws://127.0.0.1:1/ws/bank',
        '--bank-id',
        'a',
        '--data',
        shard!,
        '--state-dir',
        path.join(dir, 'cfg-c'),
      ],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(24), FINSECURE_STATE_KEY_FILE: missingKey },
    );
    expect(fromEnv.status).toBe(2);
    expect(fromEnv.stderr).toContain(
      `FINSECURE_STATE_KEY_FILE ${missingKey}: cannot read the state key (no such file)`,
    );
  }, 60_000);

  it("console and users read a config file's stateKeyFile as start does", () => {
    const sd = path.join(dir, 'cfg-console');
    const keyFile = path.join(dir, 'cfg-console.key');
    expect(run(['state-key', 'new', '--out', keyFile]).status).toBe(0);
    expect(
      run(['users', 'add', 'ana', '--role', 'analyst', '--state-dir', sd, '--state-key-file', keyFile]).status,
    ).toBe(0);
    // The file `start` reads, with the console's keys beside the daemon's.
    const cfg = path.join(dir, 'bank-console.json');
    const base = { server: 'ws://127.0.0.1:1/ws/bank', bankId: 'a', data: shard, token: 'x'.repeat(24), stateDir: sd };
    writeFileSync(cfg, JSON.stringify({ ...base, stateKeyFile: keyFile }, null, 2));
    const list = run(['users', 'list', '--config', cfg]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ana\s+analyst/m);
    // A key file the config names that cannot be read is named by the file's line and column.
    const missing = path.join(dir, 'no-such-console.key');
    writeFileSync(cfg, JSON.stringify({ ...base, stateKeyFile: missing }, null, 2));
    for (const args of [
      ['console', '--config', cfg, '--console-port', '0'],
      ['users', 'list', '--config', cfg],
    ]) {
      const r = run(args);
      expect(r.status, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${cfg}:7:19: stateKeyFile ${missing}: cannot read the state key (no such file)`);
    }
    // The flag still comes first.
    const flag = run(['users', 'list', '--config', cfg, '--state-key-file', keyFile]);
    expect(flag.status, flag.stderr).toBe(0);
  }, 60_000);

  it('score: a sealed model needs its key (exit 2 naming the settings); with it, it scores', async () => {
    const key = randomBytes(32);
    const modelDir = path.join(dir, 'sealed', 'model');
    const w = initWeights(DEFAULT_MLP, createRng(3));
    await saveStateModel(
      createEnvelopeCipher(key),
      modelDir,
      DEFAULT_MLP,
      { data: w.data, manifest: manifestFor(DEFAULT_MLP) },
      2,
    );
    const args = ['score', '--model', modelDir, '--data', shard!, '--out', path.join(dir, 'sealed-scores.csv')];
    const missing = run(args);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/model\.json is encrypted but no state key is configured \(--state-key-file/);
    const ok = run(args, { FINSECURE_STATE_KEY: key.toString('base64') });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^scored 200 transactions with global model v2/);
  }, 60_000);

  it('BankClient refuses a state directory that was not opened with a key', async () => {
    const config = loadBankConfig({
      flags: {
        server: 'ws://127.0.0.1:1/ws/bank',
        bankId: 'a',
        token: 'x'.repeat(24),
        data: shard,
        stateDir: path.join(dir, 'in-process'),
        backend: 'cpu',
      },
    });
    const data = await loadLocalData(config);
    expect(() => new BankClient(config, data, pino({ level: 'silent' }))).toThrow(StateKeyError);
    expect(() => new BankClient(config, data, pino({ level: 'silent' }))).toThrow(HOWTO);
    expect(existsSync(path.join(dir, 'in-process'))).toBe(false);
  });
});
