/**
 * `finsecure-bank accounts` as a user runs it (the built CLI: `npx tsc -b` first): the
 * report file, the summary, --help, and bad input with exit code 2 and a clear message.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@finsecure/common/rng';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
let dir: string;
let data: string;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** 80 ordinary accounts and one that spends 50× more, as a plain export with both timestamp styles. */
function writeExport(file: string): void {
  const rng = createRng(7);
  const lines = ['Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location'];
  let id = 0;
  const pad = (x: number) => String(x).padStart(2, '0');
  const add = (account: string, amount: number) => {
    const day = 1 + rng.int(28);
    const hour = 8 + rng.int(12);
    const ts = id % 2 ? `2024-03-${pad(day)}T${pad(hour)}:15:00Z` : `${pad(day)}-03-2024 ${pad(hour)}:15`;
    lines.push(`${ts},T${id++},${account},${amount.toFixed(2)},shop${rng.int(6)},purchase,"City ${rng.int(3)}, XX"`);
  };
  for (let a = 0; a < 80; a++)
    for (let i = 0; i < 15 + rng.int(10); i++) add(`A${a}`, Math.exp(3 + 0.3 * rng.normal()));
  for (let i = 0; i < 20; i++) add('WHALE', Math.exp(7 + 0.3 * rng.normal()));
  writeFileSync(file, lines.join('\n') + '\n');
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-accounts-cli-'));
  data = path.join(dir, 'export.csv');
  writeExport(data);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finsecure-bank accounts', () => {
  it('--help explains every flag', () => {
    const r = run(['accounts', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--data',
      '--out',
      '--layout',
      '--detector',
      '--contamination',
      '--seed',
      '--neighbors',
      '--reasons',
    ]) {
      expect(r.out).toContain(flag);
    }
    expect(r.out).toMatch(/handbook/);
    expect(r.out).toMatch(/berka/);
  });

  it.each(['iforest', 'lof'])('writes one row per account and prints a summary (%s)', (detector) => {
    const out = path.join(dir, `report-${detector}.csv`);
    const r = run(['accounts', '--data', data, '--out', out, '--detector', detector, '--contamination', '0.02']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^accounts: 81 \(\d+ transactions, export layout\)$/m);
    expect(r.out).toMatch(/^threshold: anomaly score > \d+\.\d{4}$/m);
    expect(r.out).toMatch(/^flagged: 2 of 81 accounts$/m);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^account,tx_count,.*,distinct_locations,.*,anomaly_score,flagged,reasons$/);
    expect(lines).toHaveLength(82);
    const whale = lines.find((l) => l.startsWith('WHALE,'))!;
    expect(whale).toMatch(/,1,"?[^,]*Mean amount is \d+\.\d robust SDs above this bank's median/);
    expect(existsSync(`${out}.tmp-${process.pid}`)).toBe(false);
  });

  it('one account only: says so in the summary and the report, exit 0', () => {
    const one = path.join(dir, 'one.csv');
    writeFileSync(
      one,
      'Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location\n2024-01-01 10:00,T1,X,5,m,p,l\n',
    );
    const out = path.join(dir, 'one-report.csv');
    const r = run(['accounts', '--data', one, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^note: only one account \(X\)/m);
    expect(r.out).toMatch(/^flagged: 0 of 1 accounts$/m);
    expect(readFileSync(out, 'utf8')).toMatch(/^# only one account \(X\)/);
  });

  it('bad input: exit 2 with the file, line and column', () => {
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(
      bad,
      'Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location\n2024-01-01 10:00,T1,X,-5,m,p,l\n',
    );
    let r = run(['accounts', '--data', bad, '--out', path.join(dir, 'x.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`finsecure-bank accounts: ${bad}:2: column "Amount": negative amount -5`);
    const noAccount = path.join(dir, 'noaccount.csv');
    writeFileSync(noAccount, 'Timestamp,Amount\n2024-01-01 10:00,5\n');
    r = run(['accounts', '--data', noAccount, '--out', path.join(dir, 'x.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/noaccount\.csv:1: no account column: expected CUSTOMER_ID/);
    r = run(['accounts', '--data', path.join(dir, 'missing.csv'), '--out', path.join(dir, 'x.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing\.csv: no such file/);
    r = run(['accounts', '--data', data, '--out', path.join(dir, 'x.csv'), '--contamination', '0.7']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--contamination must be a number > 0 and ≤ 0.5, got "0.7"/);
    r = run(['accounts', '--data', data, '--out', path.join(dir, 'x.csv'), '--detector', 'svm']);
    expect(r.err).toMatch(/--detector must be iforest, lof, got "svm"/);
    expect(existsSync(path.join(dir, 'x.csv'))).toBe(false);
  });

  it('--out a directory: exit 2 and no temporary copy of the report left behind', () => {
    const outDir = path.join(dir, 'somedir');
    mkdirSync(outDir);
    const r = run(['accounts', '--data', data, '--out', outDir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write --out .*somedir/);
    expect(readdirSync(dir).filter((f) => f.startsWith('somedir.tmp-'))).toEqual([]);
  });

  it('a config file with an unknown key is refused, naming the file and the key, exit 2', () => {
    const cfg = path.join(dir, 'typo-cfg.json');
    writeFileSync(cfg, JSON.stringify({ accounts: { detectr: 'lof' } }));
    let r = run(['accounts', '--config', cfg, '--data', data, '--out', path.join(dir, 'typo.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`config file ${cfg}: unknown key:`);
    expect(r.err).toContain('"accounts.detectr" (did you mean "accounts.detector"?)');
    expect(existsSync(path.join(dir, 'typo.csv'))).toBe(false);
    // At the top level (no "accounts" object) too.
    writeFileSync(cfg, JSON.stringify({ contamnation: 0.1 }));
    r = run(['accounts', '--config', cfg, '--data', data, '--out', path.join(dir, 'typo.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('"contamnation" (did you mean "contamination"?)');
    // A file shared with `start`: its keys at the top level, this command's in "accounts".
    writeFileSync(
      cfg,
      JSON.stringify({ server: 'ws://h:1/ws/bank', consolePort: 8081, accounts: { detector: 'lof' } }),
    );
    r = run(['accounts', '--config', cfg, '--data', data, '--out', path.join(dir, 'shared.csv')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
});
