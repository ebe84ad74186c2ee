/**
 * Settings of `finsecure-bank accounts` (shared with the console's Accounts page): from
 * flags, FINSECURE_ACCOUNTS_* and a JSON config file, in that order of priority, validated
 * before the file is read, each bad setting named by where it came from. The last test
 * runs the built CLI (`npx tsc -b` first) with settings from the environment and a file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccountsConfig } from '../src/cli/accounts-config.js';
import { exportCsv } from './helpers/console-accounts-data.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-accounts-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finsecure-bank accounts settings', () => {
  it('merges file < env < flags, with defaults', () => {
    const file = path.join(dir, 'bank.json');
    writeFileSync(
      file,
      JSON.stringify({ layout: 'kaggle', accounts: { data: 'a.csv', detector: 'lof', contamination: 0.05, seed: 3 } }),
    );
    const cfg = loadAccountsConfig({
      file,
      env: { FINSECURE_ACCOUNTS_OUT: 'r.csv', FINSECURE_ACCOUNTS_CONTAMINATION: '0.1', FINSECURE_LAYOUT: 'kaggle' },
      flags: { seed: '9', config: file },
    });
    // The "accounts" section is used; the start command's layout beside it is not ours.
    expect(cfg).toEqual({
      data: 'a.csv',
      out: 'r.csv',
      layout: 'auto',
      detector: 'lof',
      contamination: 0.1,
      seed: 9,
      neighbors: 20,
      reasons: 3,
    });
  });

  it('names every bad or missing setting by its source', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ neighbors: 0 }));
    let message = '';
    try {
      loadAccountsConfig({
        file,
        env: { FINSECURE_ACCOUNTS_DETECTOR: 'svm' },
        flags: { contamination: '0.7', reasons: '2.5' },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('--data is required (or FINSECURE_ACCOUNTS_DATA)');
    expect(message).toContain('--out is required (or FINSECURE_ACCOUNTS_OUT)');
    expect(message).toContain('FINSECURE_ACCOUNTS_DETECTOR must be iforest, lof, got "svm"');
    expect(message).toContain('--contamination must be a number > 0 and ≤ 0.5, got "0.7"');
    expect(message).toContain('--reasons must be an integer from 1 to 20, got "2.5"');
    expect(message).toContain(`${file}: neighbors must be an integer from 1 to 100, got "0"`);
    expect(() => loadAccountsConfig({ env: { FINSECURE_ACCOUNTS_SEED: '0x10' } })).toThrow(
      'FINSECURE_ACCOUNTS_SEED must be a number, got "0x10"',
    );
  });

  it('the built CLI takes its settings from the environment and a config file', () => {
    const data = path.join(dir, 'march.csv');
    writeFileSync(data, exportCsv());
    const out = path.join(dir, 'report.csv');
    const file = path.join(dir, 'accounts.json');
    writeFileSync(file, JSON.stringify({ accounts: { out, contamination: 0.02 } }));
    const r = spawnSync(process.execPath, [cli, 'accounts', '--config', file], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', FINSECURE_ACCOUNTS_DATA: data, FINSECURE_ACCOUNTS_DETECTOR: 'lof' },
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^detector: LOF, k = 20, contamination 0.02$/m);
    expect(r.stdout).toMatch(/^flagged: 2 of 81 accounts$/m);
    expect(readFileSync(out, 'utf8')).toMatch(/^account,tx_count,/);

    const bad = spawnSync(process.execPath, [cli, 'accounts', '--data', data], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', FINSECURE_ACCOUNTS_CONTAMINATION: '2' },
      timeout: 60_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--out is required (or FINSECURE_ACCOUNTS_OUT)');
    expect(bad.stderr).toContain('FINSECURE_ACCOUNTS_CONTAMINATION must be a number > 0 and ≤ 0.5, got "2"');
    const help = spawnSync(process.execPath, [cli, 'accounts', '--help'], { encoding: 'utf8', timeout: 60_000 });
    for (const flag of [
      '--config',
      '--data',
      '--out',
      '--layout',
      '--detector',
      '--contamination',
      '--seed',
      '--neighbors',
      '--reasons',
    ])
      expect(help.stdout).toContain(flag);
    expect(help.stdout).toContain('FINSECURE_ACCOUNTS_CONTAMINATION');
  });
});
