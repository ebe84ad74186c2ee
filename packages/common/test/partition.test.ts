import { describe, expect, it } from 'vitest';
import { createRng } from '../src/rng/index.js';
import {
  apportion,
  dirichletPartition,
  ensureMinFraud,
  iidPartition,
  naturalPartition,
  partitionDataset,
  partitionSummary,
  PartitionError,
  quantityPartition,
  sampleDirichlet,
  sampleGamma,
  sampleLogGamma,
  type PartitionInput,
  type PartitionScheme,
} from '../src/partition/index.js';

/** Labels only (partitioners never look at features), with optional groups. */
function input(rows: number, frauds: number, groups?: number, seed = 1): PartitionInput {
  const rng = createRng(seed);
  const labels = new Uint8Array(rows);
  const step = Math.floor(rows / Math.max(frauds, 1));
  for (let i = 0, k = 0; k < frauds; i += step, k++) labels[i] = 1;
  const out: PartitionInput = { numRows: rows, labels };
  if (groups) out.groups = Array.from({ length: rows }, () => `cust-${rng.int(groups)}`);
  return out;
}

function expectCover(parts: number[][], rows: number): void {
  const seen = new Uint8Array(rows);
  for (const p of parts) {
    for (let k = 0; k < p.length; k++) {
      seen[p[k]]++;
      if (k > 0) expect(p[k]).toBeGreaterThan(p[k - 1]); // ascending, no duplicates
    }
  }
  expect(seen.every((x) => x === 1)).toBe(true);
}

const SCHEMES: PartitionScheme[] = ['iid', 'dirichlet', 'quantity', 'natural', 'natural-skew'];

/** Mean absolute deviation of per-bank fraud share from the global fraud share (skew). */
function labelSkew(ds: PartitionInput, parts: number[][]): number {
  const s = partitionSummary(ds, parts);
  const totalF = s.reduce((a, b) => a + b.frauds, 0);
  const totalR = s.reduce((a, b) => a + b.rows, 0);
  return s.reduce((a, b) => a + Math.abs(b.frauds / totalF - b.rows / totalR), 0) / s.length;
}

describe('all partitioners', () => {
  const ds = input(3000, 60, 150);

  it.each(SCHEMES)('%s covers every index exactly once, is deterministic, and gives every bank a fraud', (scheme) => {
    const opts = { scheme, banks: 5, seed: 11, alpha: 0.5 };
    const a = partitionDataset(ds, opts);
    expect(a).toHaveLength(5);
    expectCover(a, 3000);
    expect(partitionDataset(ds, opts)).toEqual(a);
    expect(partitionDataset(ds, { ...opts, seed: 12 })).not.toEqual(a);
    for (const s of partitionSummary(ds, a)) {
      expect(s.rows).toBeGreaterThan(0);
      expect(s.frauds).toBeGreaterThanOrEqual(1);
    }
  });

  it.each(SCHEMES)('%s honours minFraudPerBank = 5 even with extreme skew', (scheme) => {
    const parts = partitionDataset(ds, { scheme, banks: 6, seed: 3, alpha: 0.05, minFraudPerBank: 5 });
    expectCover(parts, 3000);
    for (const s of partitionSummary(ds, parts)) expect(s.frauds).toBeGreaterThanOrEqual(5);
  });

  it.each(SCHEMES)('%s errors clearly when total fraud < banks × min', (scheme) => {
    expect(() => partitionDataset(ds, { scheme, banks: 7, seed: 1, alpha: 1, minFraudPerBank: 9 })).toThrow(
      /cannot give each of 7 banks 9 fraud row\(s\): the data has only 60 \(need 63\)/,
    );
    expect(() => partitionDataset(ds, { scheme, banks: 7, seed: 1, alpha: 1, minFraudPerBank: 9 })).toThrow(
      PartitionError,
    );
  });

  it('validates options', () => {
    expect(() => iidPartition(ds, { banks: 0, seed: 1 })).toThrow(/banks must be an integer ≥ 1, got 0/);
    expect(() => iidPartition(ds, { banks: 2.5, seed: 1 })).toThrow(/banks/);
    expect(() => iidPartition(ds, { banks: 2, seed: NaN })).toThrow(/seed/);
    expect(() => iidPartition(ds, { banks: 2, seed: 1, minFraudPerBank: -1 })).toThrow(/minFraudPerBank/);
    expect(() => iidPartition(input(3, 1), { banks: 4, seed: 1 })).toThrow(/cannot split 3 rows among 4 banks/);
    expect(() => dirichletPartition(ds, { banks: 2, seed: 1, alpha: 0 })).toThrow(/alpha must be a finite number > 0/);
    expect(() => quantityPartition(ds, { banks: 2, seed: 1, alpha: -1 })).toThrow(/alpha/);
    expect(() => partitionDataset(ds, { scheme: 'dirichlet', banks: 2, seed: 1 })).toThrow(/needs alpha/);
    expect(() => partitionDataset(ds, { scheme: 'bogus' as PartitionScheme, banks: 2, seed: 1 })).toThrow(
      /unknown partition scheme "bogus"/,
    );
  });

  it('never leaves a bank empty: with no fraud guarantee, an empty bank is an error', () => {
    const many = input(200, 20);
    // Quantity skew with tiny alpha and no fraud minimum gives some bank 0 rows for some seed.
    let sawError = false;
    for (let seed = 0; seed < 20 && !sawError; seed++) {
      try {
        const parts = quantityPartition(many, { banks: 10, seed, alpha: 0.01, minFraudPerBank: 0 });
        for (const p of parts) expect(p.length).toBeGreaterThan(0);
      } catch (e) {
        expect((e as Error).message).toMatch(/bank \d+ received no rows/);
        sawError = true;
      }
    }
    expect(sawError).toBe(true);
  });
});

describe('iid', () => {
  it('gives equal sizes (±1) and similar fraud rates', () => {
    const ds = input(10_001, 500);
    const s = partitionSummary(ds, iidPartition(ds, { banks: 4, seed: 2 }));
    expect(s.map((x) => x.rows).sort()).toEqual([2500, 2500, 2500, 2501]);
    for (const x of s) expect(Math.abs(x.frauds - 125)).toBeLessThan(40);
  });
});

describe('dirichlet label skew', () => {
  it('small alpha is more skewed than large alpha', () => {
    const ds = input(20_000, 1000);
    let small = 0;
    let large = 0;
    for (let seed = 0; seed < 10; seed++) {
      small += labelSkew(ds, dirichletPartition(ds, { banks: 5, seed, alpha: 0.1 }));
      large += labelSkew(ds, dirichletPartition(ds, { banks: 5, seed, alpha: 100 }));
    }
    expect(small).toBeGreaterThan(5 * large);
    expect(large / 10).toBeLessThan(0.03);
  });
});

describe('quantity skew', () => {
  it('skews bank sizes (dirichlet and power law) while keeping labels iid', () => {
    const ds = input(20_000, 1000);
    const sizes = (parts: number[][]) => parts.map((p) => p.length);
    const cv = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) / m;
    };
    const skewed = quantityPartition(ds, { banks: 5, seed: 4, alpha: 0.3 });
    const even = quantityPartition(ds, { banks: 5, seed: 4, alpha: 1000 });
    expect(cv(sizes(skewed))).toBeGreaterThan(3 * cv(sizes(even)));
    const power = quantityPartition(ds, { banks: 5, seed: 4, alpha: 2, sizes: 'powerlaw' });
    expectCover(power, 20_000);
    // Shares ∝ rank^-2: 1, 1/4, 1/9, 1/16, 1/25 of 1.4636.
    expect(sizes(power).sort((a, b) => b - a)[0]).toBeCloseTo(20_000 / 1.4636, -2);
    for (const s of partitionSummary(ds, skewed)) if (s.rows > 2000) expect(s.frauds / s.rows).toBeCloseTo(0.05, 1);
  });
});

describe('natural partition', () => {
  it('keeps every group wholly inside one bank and balances row counts', () => {
    const ds = input(6000, 200, 300);
    const parts = naturalPartition(ds, { banks: 4, seed: 5 });
    expectCover(parts, 6000);
    const owner = new Map<string, number>();
    parts.forEach((p, b) => {
      for (const i of p) {
        const g = ds.groups![i];
        expect(owner.get(g) ?? b).toBe(b);
        owner.set(g, b);
      }
    });
    const sizes = parts.map((p) => p.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(100);
  });

  it('moves whole customers to satisfy the fraud minimum, or explains why it cannot', () => {
    // 3 customers hold all fraud: c0 (4 frauds), c1 (1), c2 (1); plus fraud-free customers.
    const groups = ['c0', 'c0', 'c0', 'c0', 'c1', 'c2', ...Array.from({ length: 30 }, (_, i) => `x${i}`)];
    const labels = Uint8Array.from(groups, (_, i) => (i < 6 ? 1 : 0));
    const ds = { numRows: groups.length, labels, groups };
    const parts = naturalPartition(ds, { banks: 3, seed: 1 });
    for (const s of partitionSummary(ds, parts)) expect(s.frauds).toBeGreaterThanOrEqual(1);
    // 4 banks need 4 fraud-carrying customers but only 3 exist (6 frauds ≥ 4 in total).
    expect(() => naturalPartition(ds, { banks: 4, seed: 1 })).toThrow(/without splitting a customer across banks/);
    expect(naturalPartition(ds, { banks: 4, seed: 1, minFraudPerBank: 0 })).toHaveLength(4);
  });

  it('needs groups, and at least one group per bank', () => {
    expect(() => naturalPartition(input(100, 10), { banks: 2, seed: 1 })).toThrow(/needs per-row groups/);
    expect(() => naturalPartition(input(100, 10, 2), { banks: 3, seed: 1, minFraudPerBank: 0 })).toThrow(
      /only 2 groups for 3 banks/,
    );
  });
});

describe('ensureMinFraud', () => {
  it('moves fraud rows from the richest bank and leaves donors at or above the minimum', () => {
    const labels = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 0, 1, 0]);
    const parts = [
      [0, 1, 2, 3, 5],
      [4, 6],
      [7, 9, 8],
    ]; // frauds: 4, 1, 1
    ensureMinFraud(parts, labels, 2, 'row');
    expect(parts.map((p) => p.filter((i) => labels[i]).length)).toEqual([2, 2, 2]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(parts[0]).toContain(5); // only fraud rows move
  });

  it('moves whole units (customers) with the fewest frauds, never breaking a donor', () => {
    const unitFraud = [2, 1, 1, 0, 0];
    const banks = [[0, 1, 2], [3], [4]];
    ensureMinFraud(banks, unitFraud, 1, 'customer');
    expect(banks).toEqual([[0], [3, 2], [4, 1]]);
    // One customer holds all 3 frauds: it cannot be split, so the minimum is infeasible.
    expect(() => ensureMinFraud([[0], [1], [2]], [3, 0, 0], 1, 'customer')).toThrow(
      /cannot give bank 2 1 fraud row\(s\) without splitting a customer/,
    );
  });

  it('is a no-op for minimum 0', () => {
    const parts = [[0], [1]];
    ensureMinFraud(parts, Uint8Array.from([0, 0]), 0, 'row');
    expect(parts).toEqual([[0], [1]]);
  });
});

describe('gamma and dirichlet sampling', () => {
  it('gamma has mean ≈ shape for small and large shapes', () => {
    for (const shape of [0.3, 1, 4.5]) {
      const rng = createRng(1);
      let s = 0;
      for (let i = 0; i < 20_000; i++) s += sampleGamma(shape, rng);
      expect(s / 20_000).toBeCloseTo(shape, 1);
    }
    expect(() => sampleGamma(0, createRng(1))).toThrow(/shape/);
  });

  it('dirichlet sums to 1, stays finite for tiny alpha, and concentrates as alpha shrinks', () => {
    const rng = createRng(2);
    const tiny = sampleDirichlet([0.001, 0.001, 0.001, 0.001], rng);
    expect(tiny.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(tiny.every(Number.isFinite)).toBe(true);
    expect(Math.max(...tiny)).toBeGreaterThan(0.99);
    expect(Number.isFinite(sampleLogGamma(0.001, rng))).toBe(true);
    const flat = sampleDirichlet(new Array(4).fill(1000), rng);
    for (const p of flat) expect(p).toBeCloseTo(0.25, 1);
  });

  it('apportion sums exactly to the total', () => {
    expect(apportion(10, [0.33, 0.33, 0.34])).toEqual([3, 3, 4]);
    expect(apportion(7, [0.5, 0.5]).reduce((a, b) => a + b, 0)).toBe(7);
    expect(apportion(5, [1, 0, 0])).toEqual([5, 0, 0]);
  });
});
