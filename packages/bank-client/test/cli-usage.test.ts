/**
 * The finsecure-bank CLI as a newcomer meets it (the built CLI: `npx tsc -b` first): config
 * files with typos, values from the environment, a mistyped --state-dir, usage errors and
 * the exit codes of `score`. Bad input exits 2 with one line that names where it came from.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MLP, initWeights, manifestFor, saveModelDir } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { BANK_ENV } from '../src/config/index.js';
import { cleanup, tempDir, TEST_STATE_KEY_ENV } from '../../aggregator/test/helpers/federation.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const token = 'fst_' + 'x'.repeat(40);
let dir: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...TEST_STATE_KEY_ENV, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function json(name: string, value: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

beforeAll(() => {
  dir = tempDir('finsecure-cli-usage-');
});
afterAll(() => cleanup(dir));

describe('finsecure-bank start: the config file', () => {
  it('refuses unknown keys, naming the file and each key with a suggestion, exit 2', () => {
    const cfg = json('typo.json', { tokn: token, dpclip: 1 });
    const r = run(['start', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`config file ${cfg}: unknown keys:`);
    expect(r.err).toContain('"tokn" (did you mean "token"?)');
    expect(r.err).toContain('"dpclip" (did you mean "dpClip"?)');
  });

  it("checks a shared file's accounts object at start: misspelt keys and bad values said with the bank's problems", () => {
    const cfg = json('shared-accounts.json', {
      server: 'ws://127.0.0.1:1/ws/bank',
      bankId: 'a',
      dpclip: 1,
      accounts: { detectr: 'lof', contamination: 2 },
    });
    const r = run(['start', '--config', cfg], { FINSECURE_BANK_TOKEN: token });
    expect(r.code).toBe(2);
    expect(r.err).toContain('"dpclip" (did you mean "dpClip"?)');
    expect(r.err).toContain('"accounts.detectr" (did you mean "accounts.detector"?)');
    const values = json('shared-accounts-values.json', { accounts: { detector: 'lof', contamination: 2 } });
    const v = run(
      ['start', '--config', values, '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '-d', 'x.csv'],
      {
        FINSECURE_BANK_TOKEN: token,
      },
    );
    expect(v.code).toBe(2);
    expect(v.err).toMatch(
      new RegExp(`${values.replace(/[.*+?^$()|[\]\\]/g, '\\$&')}: accounts\\.contamination must be .*got "2"`),
    );
    const notObject = json('shared-accounts-array.json', { accounts: [] });
    const n = run(
      ['start', '--config', notObject, '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '-d', 'x.csv'],
      {
        FINSECURE_BANK_TOKEN: token,
      },
    );
    expect(n.code).toBe(2);
    expect(n.err).toContain(`${notObject}: accounts must be an object`);
  });

  it("says a setting the bank and the console share once, and the console's own problems under its heading", () => {
    const cfg = json('shared-bad.json', { consolePort: 'abc', stateDir: 5 });
    const r = run(['start', '--config', cfg, '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '-d', 'x.csv'], {
      FINSECURE_BANK_TOKEN: token,
    });
    expect(r.code).toBe(2);
    expect(r.err.split(`${cfg}:1:33: stateDir: must be a string, got 5`)).toHaveLength(2);
    expect(r.err).toContain(`invalid bank console configuration:\n  - ${cfg}:1:16: consolePort: must be a number`);
    const shared = json('shared-only.json', { stateDir: 5 });
    const s = run(
      ['start', '--config', shared, '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '-d', 'x.csv'],
      {
        FINSECURE_BANK_TOKEN: token,
      },
    );
    expect(s.code).toBe(2);
    expect(s.err.split('stateDir: must be a string')).toHaveLength(2);
    expect(s.err).not.toContain('bank console');
  });

  it('takes tokenFile, as --token-file, and the console keys of a shared file', () => {
    const tok = path.join(dir, 'tok.txt');
    writeFileSync(tok, `${token}\n`);
    const cfg = json('tokenfile.json', {
      tokenFile: tok,
      server: 'ws://127.0.0.1:1/ws/bank',
      bankId: 'a',
      consoleHost: '127.0.0.1',
    });
    const r = run(['start', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/token/i);
    expect(r.err).toContain('--data: is required');
  });

  it('names the variable or file key that supplied a bad value, in plain words', () => {
    const cfg = json('values.json', { testFraction: '0.3' });
    const r = run(['start', '--config', cfg, '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '-d', 'x.csv'], {
      FINSECURE_BANK_TOKEN: token,
      FINSECURE_BANK_SEED: '1.5',
      FINSECURE_DP_DELTA: '5',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${cfg}:1:17: testFraction: must be a number, got "0.3"`);
    expect(r.err).toContain('FINSECURE_BANK_SEED: must be a whole number, got 1.5');
    expect(r.err).toContain('FINSECURE_DP_DELTA: must be < 1, got 5');
    expect(r.err).not.toMatch(/--seed|expected int/);
  });

  it('--reconnect-max-ms below the minimum says the minimum, its value and where it comes from', () => {
    const r = run(
      ['start', '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '-d', 'x.csv', '--reconnect-max-ms', '100'],
      { FINSECURE_BANK_TOKEN: token },
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--reconnect-max-ms: must be at least reconnectMinMs, .*: 500 \(the default; .*\), got 100/);
  });

  it('--help names every environment variable and the config-only keys', () => {
    const r = run(['start', '--help']);
    expect(r.code).toBe(0);
    for (const name of Object.keys(BANK_ENV)) expect(r.out).toContain(name);
    expect(r.out).toMatch(/seed +--seed; env FINSECURE_BANK_SEED/);
    expect(r.out).toMatch(/test +--test; env FINSECURE_TEST_DATA/);
    expect(r.out).toMatch(/reconnectMinMs +config file only/);
    expect(r.out).toMatch(/tokenFile +--token-file/);
    expect(r.out).not.toMatch(/same keys as the long flags/);
  });
});

describe('finsecure-bank: usage errors', () => {
  it('one line and a pointer to --help, exit 2', () => {
    for (const args of [['start', '--bogus'], ['score', '--model', 'm'], ['nonsense']]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error: .*\n\(run with --help for usage\)\n$/);
      expect(r.err).not.toContain('Usage:');
    }
  });
});

describe('finsecure-bank: read-only commands on a mistyped --state-dir', () => {
  it('users list and audit-heads refuse a directory without bank state and create nothing', () => {
    const typo = path.join(dir, 'typo-state');
    for (const args of [
      ['users', 'list', '--state-dir', typo],
      ['users', 'disable', 'bob', '--state-dir', typo],
      ['audit-heads', '--state-dir', typo],
    ]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`no bank state at ${typo}`);
      expect(r.err).toContain('check --state-dir');
      expect(existsSync(typo)).toBe(false);
    }
    const r = run(['audit-heads'], { FINSECURE_STATE_DIR: path.join(dir, 'nope') });
    expect(r.code).toBe(2);
    expect(r.err).toContain('check FINSECURE_STATE_DIR');
    expect(readdirSync(dir)).not.toContain('nope');
    expect(readdirSync(dir)).not.toContain('bank-state');
  });

  it('users add may create the store, and list then works', () => {
    const state = path.join(dir, 'new-state');
    expect(run(['users', 'add', 'admin', '--role', 'admin', '--state-dir', state]).code).toBe(0);
    const r = run(['users', 'list', '--state-dir', state]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('admin');
  });
});

describe('finsecure-bank score: bad input exits 2', () => {
  it('no model in --model, or a file whose width the model does not take', async () => {
    const modelDir = path.join(dir, 'model');
    const w = initWeights(DEFAULT_MLP, createRng(3));
    await saveModelDir(modelDir, DEFAULT_MLP, { data: w.data, manifest: manifestFor(DEFAULT_MLP) }, 1, {
      mean: new Array(30).fill(0),
      std: new Array(30).fill(1),
    });
    const data = path.join(dir, 'three.csv');
    writeFileSync(data, 'a,b,c,is_fraud\n1,2,3,0\n4,5,6,1\n');
    const mapping = json('three-mapping.json', { label: 'is_fraud', features: ['a', 'b', 'c'] });
    let r = run(['score', '-m', modelDir, '-d', data, '-o', path.join(dir, 's.csv'), '--mapping', mapping]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${data} has 3 features, the model expects 30`);
    r = run(['score', '-m', dir, '-d', data, '-o', path.join(dir, 's.csv'), '--mapping', mapping]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no model there/);
  });
});
