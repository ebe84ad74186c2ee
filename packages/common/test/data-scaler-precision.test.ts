/**
 * Issue 11 item 13: the federated scaler's (count, mean, M2) statistics, merged with
 * Chan, Golub & LeVeque's parallel formula, against a plain two-pass computation over
 * the pooled rows. The two examples of the issue: 1e6 + N(0, 1) (std 1.00, the old
 * Σx/Σx² formula gave 1.67) and epoch seconds spread over one hour (std 1040.46, the old
 * formula gave 0 and the feature was treated as constant).
 */
import { describe, expect, it } from 'vitest';
import { computeScalerStats, mergeScalerStats, scalerFromStats, subset, type ScalerStats } from '../src/data/index.js';
import { decodeClientMessage, encodeClientMessage, type Hello } from '../src/protocol/index.js';
import { createRng } from '../src/rng/index.js';
import type { Dataset } from '../src/types/index.js';

/** A one-feature dataset; values are stored as float32, exactly as the CSV loader does. */
function column(values: ArrayLike<number>): Dataset {
  return {
    features: Float32Array.from(values),
    labels: new Uint8Array(values.length),
    numRows: values.length,
    numFeatures: 1,
    featureNames: ['x'],
  };
}

/** Reference: textbook two-pass population std in float64 over the stored (float32) values. */
function twoPassStd(xs: Float32Array): number {
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  let v = 0;
  for (const x of xs) v += (x - m) * (x - m);
  return Math.sqrt(v / xs.length);
}

/** The formula this replaces: sqrt(Σx²/n − (Σx/n)²), to show the examples do discriminate. */
function sumOfSquaresStd(xs: Float32Array): number {
  let s = 0;
  let s2 = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
  }
  return Math.sqrt(Math.max(0, s2 / xs.length - (s / xs.length) ** 2));
}

/** Splits rows 0..n into three banks of unequal size and returns their statistics. */
function banks(ds: Dataset): ScalerStats[] {
  const n = ds.numRows;
  const cuts = [0, Math.floor(n * 0.13), Math.floor(n * 0.61), n];
  return [0, 1, 2].map((b) =>
    computeScalerStats(
      subset(
        ds,
        Array.from({ length: cuts[b + 1]! - cuts[b]! }, (_, i) => cuts[b]! + i),
      ),
    ),
  );
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('federated scaler precision (count, mean, M2)', () => {
  // 1e6 + N(0, 1), 20,000 rows, seed 11. In float32 the values are on a 1/16 grid.
  const rng = createRng(11);
  const big = column(Array.from({ length: 20_000 }, () => 1e6 + rng.normal()));

  it('1e6 + N(0,1): std 1.00, equal to a two-pass computation within 1e-6 relative, on one bank and merged', () => {
    const reference = twoPassStd(big.features as Float32Array);
    expect(reference).toBeCloseTo(1.0, 2);
    const single = scalerFromStats(computeScalerStats(big));
    const merged = scalerFromStats(mergeScalerStats(banks(big)));
    for (const s of [single, merged]) {
      expect(rel(s.std[0]!, reference)).toBeLessThan(1e-6);
      expect(rel(s.mean[0]!, 1e6)).toBeLessThan(1e-6);
    }
    // The old formula is off by more than the tolerance on the same float32 values.
    expect(rel(sumOfSquaresStd(big.features as Float32Array), reference)).toBeGreaterThan(1e-3);
  });

  it('epoch seconds over one hour: std 1040.46 (not treated as constant), within 1e-3 of two-pass', () => {
    // 2,371 timestamps evenly spread over one hour from 2023-11-14T22:13:20Z, stored as
    // float32 (a 128 s grid at this magnitude, which is why the std is not 3600/√12).
    const n = 2371;
    const t = column(Array.from({ length: n }, (_, i) => 1_700_000_000 + (i * 3600) / n));
    const reference = twoPassStd(t.features as Float32Array);
    expect(reference).toBeCloseTo(1040.46, 3);
    const single = scalerFromStats(computeScalerStats(t));
    const merged = scalerFromStats(mergeScalerStats(banks(t)));
    for (const s of [single, merged]) {
      expect(Math.abs(s.std[0]! - 1040.46)).toBeLessThan(1e-3);
      expect(Math.abs(s.std[0]! - reference)).toBeLessThan(1e-6);
    }
    // The old formula cancelled to (near) zero here, and the feature became "constant".
    expect(Math.abs(sumOfSquaresStd(t.features as Float32Array) - reference)).toBeGreaterThan(1);
  });

  it('merge order does not matter; an empty bank is neutral; merged M2 equals the pooled M2', () => {
    const r = createRng(5);
    const d = 4;
    const rows = 3_000;
    const features = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) {
      features[i * d] = 1e6 + r.normal();
      features[i * d + 1] = 1_700_000_000 + r.next() * 3600;
      features[i * d + 2] = r.normal() * 1e-3;
      features[i * d + 3] = 42; // constant
    }
    const ds: Dataset = {
      features,
      labels: new Uint8Array(rows),
      numRows: rows,
      numFeatures: d,
      featureNames: ['a', 'b', 'c', 'k'],
    };
    const parts = banks(ds);
    const empty: ScalerStats = { count: 0, mean: new Float64Array(d), m2: new Float64Array(d) };
    const pooled = computeScalerStats(ds);
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
      [2, 0, 1],
    ];
    const merged = orders.map((o) => mergeScalerStats([...o.map((i) => parts[i]!), empty]));
    for (const m of merged) {
      expect(m.count).toBe(rows);
      for (let j = 0; j < d; j++) {
        expect(rel(m.mean[j]!, pooled.mean[j]!)).toBeLessThan(1e-12);
        if (j < 3) expect(rel(m.m2[j]!, pooled.m2[j]!)).toBeLessThan(1e-9);
        else expect(m.m2[j]).toBe(0);
      }
    }
    const scaler = scalerFromStats(merged[0]!);
    expect(scaler.std[3]).toBe(1); // constant column: left unscaled
    expect(scaler.std[2]).toBeGreaterThan(9e-4); // small but real spread is kept
    expect(mergeScalerStats([empty]).count).toBe(0);
  });

  it('survives the wire: hello featureStats round-trip exactly and are validated strictly', () => {
    const st = computeScalerStats(big);
    const featureStats = { count: st.count, mean: Array.from(st.mean), m2: Array.from(st.m2) };
    const hello: Hello = {
      type: 'hello',
      protocolVersion: 1,
      bankId: 'bank-a',
      token: 'x'.repeat(32),
      clientVersion: 'test',
      backend: 'cpu',
      numExamples: st.count,
      numFeatures: 1,
      featureStats,
    };
    const back = decodeClientMessage(encodeClientMessage(hello)).msg as Hello;
    expect(back.featureStats).toEqual(featureStats);
    const again = mergeScalerStats([
      {
        count: back.featureStats!.count,
        mean: Float64Array.from(back.featureStats!.mean),
        m2: Float64Array.from(back.featureStats!.m2),
      },
    ]);
    expect(scalerFromStats(again).std[0]).toBe(scalerFromStats(st).std[0]);

    const bad =
      (fs: unknown, numFeatures = 1) =>
      () =>
        encodeClientMessage({ ...hello, numFeatures, featureStats: fs as Hello['featureStats'] });
    expect(bad({ ...featureStats, m2: [-1] })).toThrow(/m2/);
    expect(bad({ ...featureStats, mean: [Infinity] })).toThrow(/mean/);
    expect(bad({ ...featureStats, m2: [NaN] })).toThrow(/m2/);
    expect(bad({ ...featureStats, count: 1.5 })).toThrow(/count/);
    expect(bad({ ...featureStats, count: -1 })).toThrow(/count/);
    expect(bad({ ...featureStats, sum: [1] })).toThrow(/sum/); // the old format is refused, not ignored
    expect(bad({ count: 3, sum: [1], sumSq: [1] })).toThrow(/mean/);
    expect(bad({ ...featureStats, m2: [1, 2] })).toThrow(/same length/);
    expect(bad({ count: 3, mean: [1, 2], m2: [1, 2] })).toThrow(/one entry per feature/);
    expect(bad(featureStats, 2)).toThrow(/one entry per feature/);
  });
});
