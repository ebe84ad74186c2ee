import { describe, expect, it } from 'vitest';
import { declareTrainingData, generateSynthetic, stratifiedSplit, type TrainingSplit } from '../src/data/index.js';
import { createRng } from '../src/rng/index.js';
import { nearestNeighbours, smote } from '../src/smote/index.js';
import type { Dataset } from '../src/types/index.js';

/** A training split with `frauds` fraud rows and `legit` legitimate rows in `d` dims. */
function training(frauds: number, legit: number, d: number, seed = 1): TrainingSplit {
  const rng = createRng(seed);
  const n = frauds + legit;
  const features = new Float32Array(n * d);
  const labels = new Uint8Array(n);
  // Frauds spread evenly through the rows (every `step`-th row).
  const step = Math.max(1, Math.floor(n / Math.max(frauds, 1)));
  for (let i = 0, placed = 0; i < n && placed < frauds; i += step, placed++) labels[i] = 1;
  for (let i = 0; i < features.length; i++) features[i] = rng.normal() + (labels[Math.floor(i / d)] ? 3 : 0);
  const ds: Dataset = {
    features,
    labels,
    numRows: n,
    numFeatures: d,
    featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
    times: Float64Array.from({ length: n }, (_, i) => i),
    groups: Array.from({ length: n }, (_, i) => `c${i % 7}`),
  };
  return declareTrainingData(ds);
}

const count = (a: Uint8Array, v: number) => a.reduce((s, x) => s + (x === v ? 1 : 0), 0);

/**
 * Brute-force check: synthetic row `row` lies on the segment between its recorded sources,
 * with ONE gap for every dimension. The gap is read off the dimension where the sources
 * differ most (a near-zero difference would amplify float32 rounding), then every
 * dimension must match a + gap · (b − a).
 */
function onSegment(ds: Dataset, row: number, a: number, b: number): boolean {
  const d = ds.numFeatures;
  const f = ds.features;
  let widest = 0;
  for (let j = 1; j < d; j++)
    if (Math.abs(f[b * d + j] - f[a * d + j]) > Math.abs(f[b * d + widest] - f[a * d + widest])) widest = j;
  const span = f[b * d + widest] - f[a * d + widest];
  const gap = Math.abs(span) < 1e-6 ? 0 : (f[row * d + widest] - f[a * d + widest]) / span;
  if (gap < -1e-4 || gap > 1 + 1e-4) return false;
  for (let j = 0; j < d; j++) {
    const xa = f[a * d + j];
    if (Math.abs(f[row * d + j] - (xa + gap * (f[b * d + j] - xa))) > 1e-4) return false;
  }
  return true;
}

describe('SMOTE', () => {
  it('reaches the target ratio; synthetic rows lie on segments between k-nearest fraud neighbours', () => {
    const train = training(40, 960, 6);
    const r = smote(train, { targetRatio: 0.5, k: 3, rng: createRng(7) });
    expect(r.minority).toBe(40);
    expect(r.majority).toBe(960);
    expect(r.synthetic).toBe(480 - 40);
    expect(r.k).toBe(3);
    const out = r.dataset;
    expect(out.numRows).toBe(1000 + r.synthetic);
    expect(count(out.labels, 1) / count(out.labels, 0)).toBeGreaterThanOrEqual(0.5);
    // Originals first, unchanged.
    expect(out.features.subarray(0, 1000 * 6)).toEqual(train.features);
    const frauds = Array.from({ length: 1000 }, (_, i) => i).filter((i) => train.labels[i] === 1);
    const nn = nearestNeighbours(train.features, 6, frauds, 3);
    for (let s = 0; s < r.synthetic; s++) {
      const a = r.sources[2 * s];
      const b = r.sources[2 * s + 1];
      expect(train.labels[a]).toBe(1);
      expect(train.labels[b]).toBe(1);
      const pa = frauds.indexOf(a);
      expect(Array.from(nn.subarray(pa * 3, pa * 3 + 3)).map((p) => frauds[p])).toContain(b);
      expect(onSegment(out, 1000 + s, a, b)).toBe(true);
      expect(out.groups![1000 + s]).toBe(train.groups![a]);
      expect(out.times![1000 + s]).toBe(train.times![a]);
    }
  });

  it('is deterministic for a seed and marks its output as a training split', () => {
    const train = training(30, 300, 4);
    const a = smote(train, { targetRatio: 1, rng: createRng(3) });
    const b = smote(train, { targetRatio: 1, rng: createRng(3) });
    expect(a.dataset.features).toEqual(b.dataset.features);
    // The output can be oversampled again (it is still training data).
    expect(smote(a.dataset, { targetRatio: 1, rng: createRng(1) }).skipped).toMatch(/already/);
  });

  it('edge cases: no fraud, one fraud, k larger than the fraud count, ratio already met', () => {
    const none = training(0, 50, 3);
    const r0 = smote(none, { targetRatio: 1, rng: createRng(1) });
    expect(r0.dataset).toBe(none);
    expect(r0.synthetic).toBe(0);
    expect(r0.skipped).toMatch(/no fraud rows/);

    const one = training(1, 50, 3);
    const r1 = smote(one, { targetRatio: 0.2, rng: createRng(1) });
    expect(r1.k).toBe(0);
    expect(r1.synthetic).toBe(9);
    const fi = one.labels.indexOf(1);
    for (let s = 0; s < 9; s++) {
      expect(Array.from(r1.dataset.features.subarray((51 + s) * 3, (52 + s) * 3))).toEqual(
        Array.from(one.features.subarray(fi * 3, fi * 3 + 3)),
      );
    }

    const three = training(3, 60, 3);
    const r3 = smote(three, { targetRatio: 0.5, k: 10, rng: createRng(1) });
    expect(r3.k).toBe(2);
    expect(r3.synthetic).toBe(27);

    const met = smote(training(30, 40, 2), { targetRatio: 0.5, rng: createRng(1) });
    expect(met.synthetic).toBe(0);
    expect(met.skipped).toMatch(/already/);

    const allFraud = smote(declareTrainingData({ ...training(5, 0, 2) }), { targetRatio: 1, rng: createRng(1) });
    expect(allFraud.skipped).toMatch(/no legitimate rows/);
  });

  it('maxMultiplier caps synthetic rows at ⌊m × real frauds⌋, leaving the ratio below target', () => {
    // 1 fraud in 25,000 rows at ratio 0.1 would be 2,499 copies of the same row.
    const one = training(1, 2_000, 3);
    expect(smote(one, { targetRatio: 0.1, rng: createRng(1) }).synthetic).toBe(199);
    const c1 = smote(one, { targetRatio: 0.1, maxMultiplier: 5, rng: createRng(1) });
    expect(c1.synthetic).toBe(5);
    expect(c1.cappedFrom).toBe(199);
    expect(c1.dataset.numRows).toBe(2_001 + 5);
    expect(count(c1.dataset.labels, 1)).toBe(6);

    // 12 frauds, m = 2.5: ⌊30⌋ synthetic rows, still on segments between fraud neighbours.
    const twelve = training(12, 3_000, 4);
    const c12 = smote(twelve, { targetRatio: 0.1, k: 3, maxMultiplier: 2.5, rng: createRng(4) });
    expect(c12.synthetic).toBe(30);
    expect(c12.cappedFrom).toBe(300 - 12);
    for (let s = 0; s < c12.synthetic; s++)
      expect(onSegment(c12.dataset, 3_012 + s, c12.sources[2 * s]!, c12.sources[2 * s + 1]!)).toBe(true);
    expect(onSegment(c12.dataset, 5, c12.sources[0]!, c12.sources[1]!)).toBe(false); // a legitimate row is not
    // The capped rows are exactly the first rows the uncapped run makes (same RNG stream).
    const full = smote(twelve, { targetRatio: 0.1, k: 3, rng: createRng(4) });
    expect(c12.dataset.features).toEqual(full.dataset.features.subarray(0, (3_012 + 30) * 4));

    // A cap above what the ratio needs changes nothing; 0 makes no rows; Infinity = no cap.
    const rich = training(40, 960, 3);
    const loose = smote(rich, { targetRatio: 0.1, maxMultiplier: 10, rng: createRng(2) });
    expect(loose.synthetic).toBe(96 - 40);
    expect(loose.cappedFrom).toBeUndefined();
    expect(loose.dataset.features).toEqual(smote(rich, { targetRatio: 0.1, rng: createRng(2) }).dataset.features);
    const none = smote(rich, { targetRatio: 0.1, maxMultiplier: 0, rng: createRng(2) });
    expect(none.synthetic).toBe(0);
    expect(none.dataset).toBe(rich);
    expect(none.skipped).toMatch(/maxMultiplier 0/);
    expect(smote(one, { targetRatio: 0.1, maxMultiplier: Infinity, rng: createRng(1) }).synthetic).toBe(199);
  });

  it('cannot be applied to a test split (type level and run time)', () => {
    const ds = generateSynthetic({ rows: 2000, seed: 1, fraudRate: 0.05 });
    const split = stratifiedSplit(ds, 0.3, createRng(1));
    expect(smote(split.train, { targetRatio: 0.2, rng: createRng(1) }).synthetic).toBeGreaterThan(0);
    // @ts-expect-error a TestSplit is not a TrainingSplit
    expect(() => smote(split.test, { targetRatio: 0.2, rng: createRng(1) })).toThrow(/test split/);
    // @ts-expect-error a plain Dataset is not a TrainingSplit either
    expect(() => smote(ds, { targetRatio: 0.2, rng: createRng(1) })).toThrow(/pass split\.train/);
    // An `as` cast gets past the compiler but not the run-time check.
    expect(() => smote(split.test as unknown as TrainingSplit, { targetRatio: 0.2, rng: createRng(1) })).toThrow(
      /SMOTE refused/,
    );
  });

  it('validates its options', () => {
    const train = training(5, 50, 2);
    for (const targetRatio of [0, -1, NaN, Infinity]) {
      expect(() => smote(train, { targetRatio, rng: createRng(1) })).toThrow(/targetRatio/);
    }
    for (const k of [0, 1.5, -2])
      expect(() => smote(train, { targetRatio: 1, k, rng: createRng(1) })).toThrow(/k must/);
    for (const maxMultiplier of [-1, NaN])
      expect(() => smote(train, { targetRatio: 1, maxMultiplier, rng: createRng(1) })).toThrow(/maxMultiplier/);
  });

  it('is fast: 300 and 1,500 fraud rows × 30 dims', () => {
    for (const frauds of [300, 1500]) {
      const train = training(frauds, 20 * frauds, 30);
      const t0 = performance.now();
      const r = smote(train, { targetRatio: 0.5, k: 5, rng: createRng(2) });
      const ms = performance.now() - t0;
      expect(r.synthetic).toBe(10 * frauds - frauds);
      expect(ms).toBeLessThan(frauds === 300 ? 1000 : 5000); // generous: CI machines are shared
    }
  });
});

describe('nearestNeighbours', () => {
  it('returns the k nearest other rows, nearest first, ties to the lower position', () => {
    const f = new Float32Array([0, 0, 1, 0, 3, 0, 1, 0, 10, 0]); // 1-D pairs: x = 0, 1, 3, 1, 10
    const nn = nearestNeighbours(f, 2, [0, 1, 2, 3, 4], 2);
    expect(Array.from(nn.subarray(0, 2))).toEqual([1, 3]); // 0 -> 1 (tie with 3, lower first), 3
    expect(Array.from(nn.subarray(4, 6))).toEqual([1, 3]); // 3 -> 1, 3 (distance 2 each)
    expect(Array.from(nn.subarray(8, 10))).toEqual([2, 1]); // 10 -> 3, then 1
    expect(() => nearestNeighbours(f, 2, [0, 1], 2)).toThrow(/k must be in \[1, 1\]/);
  });
});
