import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../src/rng/index.js';
import { HANDBOOK_FEATURES } from '../src/data/index.js';
import {
  naturalPartition,
  naturalSkewPartition,
  partitionDataset,
  partitionSummary,
  PartitionError,
  quantityPartition,
  sizeShares,
  type PartitionInput,
  type PartitionManifest,
} from '../src/partition/index.js';

/**
 * Customers with 1–30 rows each (like card holders with different activity) and a fraud
 * rate per customer: frauds cluster in some customers, as in the handbook data.
 */
function customers(n: number, seed: number, fraudyEvery = 20): PartitionInput {
  const rng = createRng(seed);
  const labels: number[] = [];
  const groups: string[] = [];
  for (let c = 0; c < n; c++) {
    const rows = 1 + rng.int(30);
    for (let r = 0; r < rows; r++) {
      groups.push(`C${c}`);
      labels.push(c % fraudyEvery === 0 && r % 3 === 0 ? 1 : 0);
    }
  }
  return { numRows: labels.length, labels: Uint8Array.from(labels), groups };
}

function bankOfCustomer(ds: PartitionInput, parts: number[][]): Map<string, Set<number>> {
  const banks = new Map<string, Set<number>>();
  parts.forEach((p, b) => {
    for (const i of p) {
      const g = ds.groups![i];
      if (!banks.has(g)) banks.set(g, new Set());
      banks.get(g)!.add(b);
    }
  });
  return banks;
}

function expectCover(parts: number[][], rows: number): void {
  const seen = new Uint8Array(rows);
  for (const p of parts) {
    for (let k = 0; k < p.length; k++) {
      seen[p[k]]++;
      if (k > 0) expect(p[k]).toBeGreaterThan(p[k - 1]);
    }
  }
  expect(seen.every((x) => x === 1)).toBe(true);
}

describe('natural-skew partition', () => {
  const ds = customers(1500, 3); // ≈ 23,000 rows

  it('keeps every customer whole, covers every row once, and is deterministic by seed', () => {
    const opts = { banks: 10, seed: 42, alpha: 0.5 };
    const parts = naturalSkewPartition(ds, opts);
    expect(parts).toHaveLength(10);
    expectCover(parts, ds.numRows);
    for (const [, banks] of bankOfCustomer(ds, parts)) expect(banks.size).toBe(1);
    expect(naturalSkewPartition(ds, opts)).toEqual(parts);
    expect(naturalSkewPartition(ds, { ...opts, seed: 43 })).not.toEqual(parts);
    expect(partitionDataset(ds, { scheme: 'natural-skew', ...opts })).toEqual(parts);
  });

  it('gives banks the Dirichlet(α) sizes drawn from the seed, to within a customer or two', () => {
    const alpha = 0.5;
    const parts = naturalSkewPartition(ds, { banks: 10, seed: 7, alpha, minFraudPerBank: 0 });
    const target = sizeShares(10, alpha, 'dirichlet', createRng(7)); // the partitioner's first draw
    const shares = parts.map((p) => p.length / ds.numRows);
    for (let b = 0; b < 10; b++) expect(Math.abs(shares[b] - target[b])).toBeLessThan(60 / ds.numRows);
    // Skewed, unlike the plain natural partition, which balances rows.
    const sizes = parts.map((p) => p.length);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(10);
    const flat = naturalPartition(ds, { banks: 10, seed: 7, minFraudPerBank: 0 }).map((p) => p.length);
    expect(Math.max(...flat) / Math.min(...flat)).toBeLessThan(1.01);
  });

  it('follows a power law ∝ rank^(−α) with sizes "powerlaw"', () => {
    const parts = naturalSkewPartition(ds, { banks: 5, seed: 9, alpha: 1, sizes: 'powerlaw', minFraudPerBank: 0 });
    const sorted = parts.map((p) => p.length / ds.numRows).sort((a, b) => b - a);
    const h = 1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5; // harmonic normaliser of rank^-1
    sorted.forEach((s, r) => expect(s).toBeCloseTo(1 / (r + 1) / h, 2));
    // quantity uses the same sizes over rows (its seeded shards are unchanged by sharing sizes.ts)
    const q = quantityPartition(ds, { banks: 5, seed: 9, alpha: 1, sizes: 'powerlaw', minFraudPerBank: 0 });
    const qs = q.map((p) => p.length / ds.numRows).sort((a, b) => b - a);
    qs.forEach((s, r) => expect(s).toBeCloseTo(sorted[r], 2));
  });

  it('guarantees the fraud minimum by moving whole customers, and never leaves a bank empty', () => {
    // Extreme skew: most banks' shares round to a handful of rows.
    for (const seed of [1, 2, 3]) {
      const parts = naturalSkewPartition(ds, { banks: 12, seed, alpha: 0.05, minFraudPerBank: 3 });
      const summary = partitionSummary(ds, parts);
      for (const s of summary) {
        expect(s.rows).toBeGreaterThan(0);
        expect(s.frauds).toBeGreaterThanOrEqual(3);
      }
      for (const [, banks] of bankOfCustomer(ds, parts)) expect(banks.size).toBe(1);
      expectCover(parts, ds.numRows);
    }
    // Without the minimum, a bank may be fraud-free but is still not empty.
    const free = naturalSkewPartition(ds, { banks: 12, seed: 1, alpha: 0.05, minFraudPerBank: 0 });
    for (const p of free) expect(p.length).toBeGreaterThan(0);
  });

  it('refuses what it cannot do, with a message that says why', () => {
    const noGroups = { numRows: 100, labels: new Uint8Array(100).fill(1) };
    expect(() => naturalSkewPartition(noGroups, { banks: 2, seed: 1, alpha: 1 })).toThrow(PartitionError);
    expect(() => naturalSkewPartition(noGroups, { banks: 2, seed: 1, alpha: 1 })).toThrow(/needs per-row groups/);
    const few = customers(3, 1, 1);
    expect(() => naturalSkewPartition(few, { banks: 4, seed: 1, alpha: 1 })).toThrow(/only 3 groups for 4 banks/);
    // One fraudulent customer holds every fraud: a second bank cannot get one without splitting it.
    const one: PartitionInput = {
      numRows: 40,
      labels: Uint8Array.from({ length: 40 }, (_, i) => (i < 5 ? 1 : 0)),
      groups: Array.from({ length: 40 }, (_, i) => (i < 5 ? 'fraudster' : `c${i}`)),
    };
    expect(() => naturalSkewPartition(one, { banks: 2, seed: 1, alpha: 1 })).toThrow(
      /without splitting a customer across banks/,
    );
    expect(() => naturalSkewPartition(ds, { banks: 3, seed: 1, alpha: 0 })).toThrow(/alpha must be/);
    expect(() => partitionDataset(ds, { scheme: 'natural-skew', banks: 3, seed: 1 })).toThrow(/needs alpha/);
  });
});

describe('datasets partition --scheme natural-skew', () => {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const cli = join(root, 'packages/common/src/cli/datasets.ts');
  const dir = mkdtempSync(join(tmpdir(), 'finsecure-skew-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, timeout: 60_000 }, (err, o, e) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: o, stderr: e }),
      );
    });

  it('writes whole-customer shards of skewed sizes and records α and the size law', async () => {
    const header = ['TRANSACTION_ID', 'TX_DATETIME', 'CUSTOMER_ID', 'TERMINAL_ID', 'TX_TIME_SECONDS', 'TX_TIME_DAYS'];
    header.push('TX_FRAUD', 'TX_FRAUD_SCENARIO', ...HANDBOOK_FEATURES);
    const lines = [header.join(',')];
    for (let i = 0; i < 2000; i++) {
      const c = (i * 37) % 200;
      const fraud = c % 10 === 0 && i % 2 === 0 ? 1 : 0;
      const feats = HANDBOOK_FEATURES.map((_, j) => ((i * 7 + j * 13) % 100) / 10);
      lines.push(
        [i, '2018-04-01 00:00:00', `C${c}`, i % 9, i * 60, Math.floor(i / 100), fraud, fraud, ...feats].join(','),
      );
    }
    const input = join(dir, 'hb.csv');
    writeFileSync(input, lines.join('\n') + '\n');
    const out = join(dir, 'shards');
    const r = await run('partition', '--input', input, '--banks', '4', '--scheme', 'natural-skew', '--alpha', '0.5');
    expect(r.code).toBe(2); // --out is required
    const ok = await run(
      'partition',
      '--input',
      input,
      '--banks',
      '4',
      '--scheme',
      'natural-skew',
      '--alpha',
      '0.5',
      '--quantity-dist',
      'powerlaw',
      '--split',
      'time',
      '--out',
      out,
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as PartitionManifest;
    expect(m.scheme).toBe('natural-skew');
    expect(m.alpha).toBe(0.5);
    expect(m.quantitySizes).toBe('powerlaw');
    const rows = m.shards.map((s) => s.rows);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(1600);
    expect(Math.max(...rows) / Math.min(...rows)).toBeGreaterThan(1.5); // 1 : 2^-0.5 : 3^-0.5 : 4^-0.5 = 2 : 1
    for (const s of m.shards) expect(s.frauds).toBeGreaterThanOrEqual(1);
    // A Kaggle-layout file has no customers.
    const kaggle = join(dir, 'k.csv');
    const kl = ['Time,' + Array.from({ length: 28 }, (_, i) => `V${i + 1}`).join(',') + ',Amount,Class'];
    for (let i = 0; i < 50; i++) kl.push([i, ...new Array<number>(28).fill(0.5), 10, i % 10 === 0 ? 1 : 0].join(','));
    writeFileSync(kaggle, kl.join('\n') + '\n');
    const bad = await run('partition', '--input', kaggle, '--banks', '2', '--scheme', 'natural-skew', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--scheme natural-skew needs a group column/);
  });
});
