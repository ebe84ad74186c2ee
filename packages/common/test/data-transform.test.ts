import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyScaler,
  computeScalerStats,
  declareTrainingData,
  generateSynthetic,
  isTestSplit,
  isTrainingSplit,
  KAGGLE_FEATURES,
  loadCsv,
  mergeScalerStats,
  scalerFromStats,
  stratifiedSplit,
  subset,
  timeSplit,
  writeSyntheticCsv,
} from '../src/data/index.js';
import { createRng } from '../src/rng/index.js';
import type { Dataset } from '../src/types/index.js';

const dir = mkdtempSync(join(tmpdir(), 'finsecure-transform-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Small random dataset with ~`rate` fraud, times shuffled, and groups. */
function randomDataset(rows: number, d: number, seed: number, rate = 0.1): Dataset {
  const rng = createRng(seed);
  const features = new Float32Array(rows * d);
  for (let i = 0; i < features.length; i++) features[i] = rng.normal() * (1 + (i % d)) + (i % d) * 100;
  const labels = Uint8Array.from({ length: rows }, () => (rng.next() < rate ? 1 : 0));
  const times = Float64Array.from({ length: rows }, () => Math.floor(rng.next() * 1e5));
  const groups = Array.from({ length: rows }, () => `g${rng.int(20)}`);
  return {
    features,
    labels,
    numRows: rows,
    numFeatures: d,
    featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
    times,
    groups,
  };
}

const sum = (a: Uint8Array) => a.reduce((s, x) => s + x, 0);

describe('scaler', () => {
  it('merged per-bank statistics equal the statistics of the concatenation', () => {
    const all = randomDataset(900, 5, 1);
    const parts = [subset(all, range(0, 200)), subset(all, range(200, 650)), subset(all, range(650, 900))];
    const merged = mergeScalerStats(parts.map(computeScalerStats));
    const direct = computeScalerStats(all);
    expect(merged.count).toBe(900);
    for (let j = 0; j < 5; j++) {
      expect(merged.mean[j]).toBeCloseTo(direct.mean[j], 9);
      expect(merged.m2[j] / direct.m2[j]).toBeCloseTo(1, 12);
    }
    const a = scalerFromStats(merged);
    const b = scalerFromStats(direct);
    for (let j = 0; j < 5; j++) {
      expect(a.mean[j]).toBeCloseTo(b.mean[j], 9);
      expect(a.std[j]).toBeCloseTo(b.std[j], 9);
    }
  });

  it('scaled features have mean 0 and std 1; constant columns get std 1, not a division by zero', () => {
    const ds = randomDataset(500, 3, 2);
    for (let i = 0; i < 500; i++) ds.features[i * 3 + 2] = 7;
    const scaler = scalerFromStats(computeScalerStats(ds));
    expect(scaler.std[2]).toBe(1);
    const s = applyScaler(ds, scaler);
    expect(s).not.toBe(ds);
    expect(ds.features[2]).toBe(7); // input untouched
    const st = scalerFromStats(computeScalerStats(s));
    expect(st.mean[0]).toBeCloseTo(0, 5);
    expect(st.std[0]).toBeCloseTo(1, 4);
    expect(st.mean[2]).toBe(0);
    expect(s.labels).toEqual(ds.labels);
    expect(s.groups).toEqual(ds.groups);
    expect(s.times).toEqual(ds.times);
  });

  it('rejects mismatched shapes and empty input', () => {
    const ds = randomDataset(10, 3, 3);
    const st = computeScalerStats(ds);
    expect(() => mergeScalerStats([])).toThrow(/at least one/);
    expect(() => mergeScalerStats([st, computeScalerStats(randomDataset(10, 2, 3))])).toThrow(/feature counts differ/);
    expect(() => scalerFromStats({ count: 0, mean: new Float64Array(1), m2: new Float64Array(1) })).toThrow(/count/);
    expect(() => applyScaler(randomDataset(4, 2, 1), scalerFromStats(st))).toThrow(/3 features, dataset has 2/);
  });

  it('keeps the split brand: a scaled training split is still a training split', () => {
    const { train, test } = stratifiedSplit(randomDataset(100, 2, 4), 0.3, createRng(1));
    const scaler = scalerFromStats(computeScalerStats(train));
    expect(isTrainingSplit(applyScaler(train, scaler))).toBe(true);
    expect(isTestSplit(applyScaler(test, scaler))).toBe(true);
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

describe('splits', () => {
  it('stratified split keeps the fraud ratio on both sides and covers every row once', () => {
    const ds = randomDataset(5000, 2, 5, 0.03);
    const { train, test, trainIndices, testIndices } = stratifiedSplit(ds, 0.25, createRng(9));
    const frauds = sum(ds.labels);
    expect(train.numRows + test.numRows).toBe(5000);
    expect(Math.abs(sum(test.labels) - Math.round(frauds * 0.25))).toBeLessThanOrEqual(1);
    expect(sum(test.labels) / test.numRows).toBeCloseTo(frauds / 5000, 3);
    expect(sum(train.labels) / train.numRows).toBeCloseTo(frauds / 5000, 3);
    const all = [...trainIndices, ...testIndices].sort((a, b) => a - b);
    expect(all).toEqual(range(0, 5000));
    expect([...trainIndices]).toEqual([...trainIndices].sort((a, b) => a - b));
    // Rows are copied with their labels, times and groups.
    expect(test.labels[3]).toBe(ds.labels[testIndices[3]]);
    expect(test.groups![3]).toBe(ds.groups![testIndices[3]]);
    expect(test.times![3]).toBe(ds.times![testIndices[3]]);
    expect(isTrainingSplit(train) && isTestSplit(test)).toBe(true);
    expect(isTrainingSplit(ds)).toBe(false);
  });

  it('stratified split is deterministic by seed', () => {
    const ds = randomDataset(1000, 2, 6);
    const a = stratifiedSplit(ds, 0.2, createRng(3));
    const b = stratifiedSplit(ds, 0.2, createRng(3));
    const c = stratifiedSplit(ds, 0.2, createRng(4));
    expect(a.testIndices).toEqual(b.testIndices);
    expect(a.testIndices).not.toEqual(c.testIndices);
  });

  it('time split puts the earliest rows in train and the latest in test', () => {
    const ds = randomDataset(1000, 2, 7);
    const { train, test, trainIndices } = timeSplit(ds, 0.3);
    expect(test.numRows).toBe(300);
    expect(train.numRows).toBe(700);
    const maxTrain = Math.max(...train.times!);
    const minTest = Math.min(...test.times!);
    expect(maxTrain).toBeLessThanOrEqual(minTest);
    for (let k = 1; k < train.numRows; k++) expect(train.times![k]).toBeGreaterThanOrEqual(train.times![k - 1]);
    expect(train.labels[5]).toBe(ds.labels[trainIndices[5]]);
  });

  it('rejects bad fractions, missing times and empty training sides', () => {
    const ds = randomDataset(10, 2, 8);
    for (const f of [-0.1, 1, 1.5, NaN]) {
      expect(() => stratifiedSplit(ds, f, createRng(1))).toThrow(/testFraction must be in \[0, 1\)/);
      expect(() => timeSplit(ds, f)).toThrow(/testFraction/);
    }
    expect(() => timeSplit({ ...ds, times: undefined }, 0.2)).toThrow(/needs per-row times/);
    expect(() => timeSplit(subset(ds, [0]), 0.9)).toThrow(/no training rows/);
    expect(stratifiedSplit(ds, 0, createRng(1)).test.numRows).toBe(0);
  });

  it('subset copies the chosen rows and checks bounds', () => {
    const ds = randomDataset(10, 3, 9);
    const s = subset(ds, [4, 4, 0]);
    expect(s.numRows).toBe(3);
    expect(Array.from(s.features.subarray(0, 3))).toEqual(Array.from(ds.features.subarray(12, 15)));
    expect(Array.from(s.features.subarray(6, 9))).toEqual(Array.from(ds.features.subarray(0, 3)));
    expect(() => subset(ds, [10])).toThrow(/out of range/);
    expect(() => subset(ds, [1.5])).toThrow(/out of range/);
  });

  it('declareTrainingData marks a shard as training but refuses a test split', () => {
    const ds = randomDataset(20, 2, 10);
    expect(isTrainingSplit(declareTrainingData(ds))).toBe(true);
    const { test } = stratifiedSplit(randomDataset(20, 2, 11), 0.5, createRng(1));
    expect(() => declareTrainingData(test)).toThrow(/test split/);
    // The brand is not copied by a spread: a copy is a plain Dataset again.
    expect(isTrainingSplit({ ...ds })).toBe(false);
  });
});

describe('synthetic generator', () => {
  it('is deterministic by seed and has the Kaggle shape', () => {
    const a = generateSynthetic({ rows: 3000, seed: 5, fraudRate: 0.01 });
    const b = generateSynthetic({ rows: 3000, seed: 5, fraudRate: 0.01 });
    const c = generateSynthetic({ rows: 3000, seed: 6, fraudRate: 0.01 });
    expect(a.features).toEqual(b.features);
    expect(a.labels).toEqual(b.labels);
    expect(a.features).not.toEqual(c.features);
    expect(a.featureNames).toEqual([...KAGGLE_FEATURES]);
    expect(sum(a.labels)).toBe(30); // exactly round(rows × rate)
    const t = a.times!;
    expect(t.every((x, i) => i === 0 || x >= t[i - 1])).toBe(true); // non-decreasing
    expect(t[a.numRows - 1]).toBeGreaterThan(150_000); // spans ~2 days
    expect(t[a.numRows - 1]).toBeLessThanOrEqual(172_792);
    const rows = Array.from({ length: a.numRows }, (_, i) => i);
    expect(rows.every((i) => a.features[i * 30 + 29] >= 0)).toBe(true); // Amount ≥ 0
    expect(rows.every((i) => a.features[i * 30] === t[i])).toBe(true); // Time feature = time
    expect(sum(generateSynthetic({ rows: 100_000, seed: 1 }).labels)).toBe(170);
  });

  it('separates the classes only partly: frauds shift some V dims, overlapping the legitimate cloud', () => {
    const ds = generateSynthetic({ rows: 40_000, seed: 2, fraudRate: 0.02 });
    const meanOf = (col: number, cls: number) => {
      let s = 0;
      let k = 0;
      for (let i = 0; i < ds.numRows; i++) {
        if (ds.labels[i] !== cls) continue;
        s += ds.features[i * 30 + col];
        k++;
      }
      return s / k;
    };
    // V14 (column 14) is shifted down for fraud; V2 is not shifted.
    expect(meanOf(14, 1) - meanOf(14, 0)).toBeLessThan(-0.5);
    expect(Math.abs(meanOf(2, 1) - meanOf(2, 0))).toBeLessThan(0.4);
    // Some frauds are indistinguishable: their V14 is above the legitimate mean.
    let above = 0;
    for (let i = 0; i < ds.numRows; i++) if (ds.labels[i] === 1 && ds.features[i * 30 + 14] > meanOf(14, 0)) above++;
    expect(above).toBeGreaterThan(0);
  });

  it('streams to CSV (plain and gzip) and reloads to the same dataset', async () => {
    const inMemory = generateSynthetic({ rows: 2000, seed: 8, fraudRate: 0.05 });
    for (const name of ['syn.csv', 'syn.csv.gz']) {
      const path = join(dir, name);
      const progress: number[] = [];
      const r = await writeSyntheticCsv({ rows: 2000, seed: 8, fraudRate: 0.05 }, path, (n) => progress.push(n));
      expect(r).toEqual({ rows: 2000, frauds: 100 });
      expect(progress[progress.length - 1]).toBe(2000);
      const loaded = await loadCsv(path);
      expect(loaded.layout).toBe('kaggle');
      expect(loaded.dataset.features).toEqual(inMemory.features);
      expect(loaded.dataset.labels).toEqual(inMemory.labels);
      expect(loaded.dataset.times).toEqual(inMemory.times);
    }
  });

  it('validates its options', () => {
    expect(() => generateSynthetic({ rows: 0, seed: 1 })).toThrow(/rows must be an integer ≥ 1/);
    expect(() => generateSynthetic({ rows: 1.5, seed: 1 })).toThrow(/rows/);
    expect(() => generateSynthetic({ rows: 10, seed: 1, fraudRate: 2 })).toThrow(/fraudRate must be in \[0, 1\]/);
    expect(() => generateSynthetic({ rows: 10, seed: NaN })).toThrow(/seed/);
  });
});
