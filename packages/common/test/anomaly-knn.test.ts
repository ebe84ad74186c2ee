/**
 * kNearest (pruning checked every 4 features; self-neighbours with each pair computed
 * once and offered to both rows) returns exactly what the plain brute-force loop
 * returns: the same indices and bit-identical distances, including the tie rule "equal
 * distance: lower reference index first". Data are built to be hard on that: small
 * integer grids (many equal distances, equal partial sums at the pruning checks), exact
 * duplicate rows (distance 0), constant features, d not a multiple of 4, k from 1 to
 * n − 1, self-neighbours excluded or not.
 */
import { describe, expect, it } from 'vitest';
import { kNearest, type Neighbours } from '../src/anomaly/index.js';
import { createRng, type Rng } from '../src/rng/index.js';

/**
 * The reference: the simple brute-force loop kNearest used before (every pair, in index
 * order, the whole sum, strict < so a lower index stays first among ties).
 */
function bruteForce(
  refs: Float64Array,
  n: number,
  queries: Float64Array,
  m: number,
  d: number,
  k: number,
  excludeSelf: boolean,
): Neighbours {
  const index = new Int32Array(m * k);
  const distance = new Float64Array(m * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let a = 0; a < m; a++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    for (let b = 0; b < n; b++) {
      if (excludeSelf && b === a) continue;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = queries[a * d + j] - refs[b * d + j];
        s += t * t;
      }
      if (s >= bestD[k - 1]) continue;
      let pos = k - 1;
      while (pos > 0 && bestD[pos - 1] > s) {
        bestD[pos] = bestD[pos - 1];
        bestI[pos] = bestI[pos - 1];
        pos--;
      }
      bestD[pos] = s;
      bestI[pos] = b;
    }
    for (let i = 0; i < k; i++) {
      index[a * k + i] = bestI[i];
      distance[a * k + i] = Math.sqrt(bestD[i]);
    }
  }
  return { k, index, distance };
}

/** Rows of small integers (ties everywhere), some exact duplicates, optionally scaled. */
function tiedRows(rng: Rng, n: number, d: number, levels: number, duplicates: number, scale: number): Float64Array {
  const x = new Float64Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = (rng.int(levels) - (levels >> 1)) * scale;
  for (let c = 0; c < duplicates; c++) {
    const from = rng.int(n);
    const to = rng.int(n);
    x.copyWithin(to * d, from * d, (from + 1) * d);
  }
  return x;
}

function normalRows(rng: Rng, n: number, d: number): Float64Array {
  const x = new Float64Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

function expectIdentical(got: Neighbours, want: Neighbours, what: string): void {
  expect(got.k).toBe(want.k);
  for (let i = 0; i < want.index.length; i++) {
    if (got.index[i] !== want.index[i] || !Object.is(got.distance[i], want.distance[i])) {
      throw new Error(
        `${what}: slot ${i} (query ${Math.floor(i / want.k)}): got ${got.index[i]} at ${got.distance[i]}, ` +
          `brute force ${want.index[i]} at ${want.distance[i]}`,
      );
    }
  }
}

function compare(refs: Float64Array, n: number, queries: Float64Array, m: number, d: number, k: number, self: boolean) {
  const what = `n ${n}, m ${m}, d ${d}, k ${k}, excludeSelf ${self}`;
  expectIdentical(kNearest(refs, n, queries, m, d, k, self), bruteForce(refs, n, queries, m, d, k, self), what);
}

describe('kNearest equals the brute-force loop exactly', () => {
  it('self-neighbours of tied integer grids with duplicates, many shapes and k', () => {
    const rng = createRng(18);
    for (const d of [1, 2, 3, 4, 5, 7, 8, 12, 13]) {
      for (const levels of [2, 3, 5]) {
        const n = 60 + rng.int(80);
        const x = tiedRows(rng, n, d, levels, 15, 1);
        for (const k of [1, 2, 5, 20, n - 1]) compare(x, n, x, n, d, k, true);
      }
    }
  });

  it('novelty queries (self included at distance 0), copies of reference rows and outside points', () => {
    const rng = createRng(19);
    for (const d of [1, 4, 6, 12]) {
      const n = 150;
      const refs = tiedRows(rng, n, d, 4, 30, 0.5);
      const m = 90;
      const queries = tiedRows(rng, m, d, 6, 0, 0.5);
      for (let i = 0; i < 30; i++) {
        const r = rng.int(n);
        queries.set(refs.subarray(r * d, (r + 1) * d), i * d); // exact copies of reference rows
      }
      for (const k of [1, 3, 20, n]) compare(refs, n, queries, m, d, k, false);
      compare(refs, n, refs, n, d, 10, false);
    }
  });

  it('continuous data (no ties) and a constant feature, in the shape LOF uses', () => {
    const rng = createRng(20);
    const n = 800;
    const d = 12;
    const x = normalRows(rng, n, d);
    for (let i = 0; i < n; i++) x[i * d + 5] = 3; // a constant column
    compare(x, n, x, n, d, 20, true);
    const q = normalRows(rng, 200, d);
    compare(x, n, q, 200, d, 20, false);
  });

  it('wide value ranges: tiny and huge magnitudes mixed (rounding does not change the pruning)', () => {
    const rng = createRng(21);
    const n = 200;
    const d = 5;
    const x = new Float64Array(n * d);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal() * 10 ** (rng.int(13) - 6);
    for (let c = 0; c < 20; c++) x.copyWithin(rng.int(n) * d, 0, d);
    compare(x, n, x, n, d, 7, true);
    compare(x, n, x, n, d, 7, false);
  });

  it('all rows identical: every distance 0, indices ascending', () => {
    const n = 30;
    const d = 3;
    const x = new Float64Array(n * d).fill(1.25);
    const nb = kNearest(x, n, x, n, d, 4, true);
    expect(Array.from(nb.index.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(Array.from(nb.index.subarray(4, 8))).toEqual([0, 2, 3, 4]);
    expect(Array.from(nb.distance).every((v) => v === 0)).toBe(true);
    compare(x, n, x, n, d, n - 1, true);
  });

  it('refuses k outside [1, available]', () => {
    const x = new Float64Array([0, 1, 2]);
    expect(() => kNearest(x, 3, x, 3, 1, 3, true)).toThrow(/k must be in \[1, 2\]/);
    expect(() => kNearest(x, 3, x, 3, 1, 0, false)).toThrow(/k must be in \[1, 3\]/);
    expect(() => kNearest(x, 3, x, 3, 1, 1.5, false)).toThrow(/got 1.5/);
  });
});
