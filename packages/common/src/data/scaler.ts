/**
 * Standard scaling with statistics that banks can merge. Each bank publishes only
 * (count, mean, M2) per feature — aggregates, not rows — where M2 = Σ(x − mean)² is the
 * sum of squared deviations from the bank's own mean. Partial statistics are combined
 * with the parallel formula of Chan, Golub & LeVeque ("Updating formulae and a pairwise
 * algorithm for computing sample variances", 1979), so the merged scaler equals the one
 * computed on the union of all banks' rows up to float64 rounding.
 *
 * Why not (count, Σx, Σx²): the variance E[x²] − E[x]² cancels catastrophically when
 * the mean is large against the spread. For 1e6 + N(0, 1) it gave std 1.67 instead of
 * 1.00, and for epoch seconds spread over one hour 1.00000 instead of 1040.46 (the
 * feature was then treated as constant). Deviations from a mean never cancel that way.
 */
import type { Dataset } from '../types/index.js';
import { carrySplitKind, type TestSplit, type TrainingSplit } from './split.js';

/** Mergeable per-feature statistics: row count, mean and M2 = Σ(x − mean)² (float64). */
export interface ScalerStats {
  count: number;
  mean: Float64Array;
  m2: Float64Array;
}

export interface Scaler {
  mean: Float64Array;
  std: Float64Array;
}

/** Below this (relative to max(1, |mean|)) a feature is treated as constant and left unscaled (std := 1). */
export const MIN_STD = 1e-8;

/**
 * Per-feature (count, mean, M2) of a dataset, by the corrected two-pass algorithm in
 * float64 (Chan, Golub & LeVeque 1983, "Algorithms for computing the sample variance"):
 * pass 1 takes the mean, pass 2 sums d = x − mean and d², and M2 = Σd² − (Σd)²/n removes
 * the rounding error left in the first mean. Rows are visited in order, so the result is
 * deterministic. An empty dataset gives count 0 with zero means.
 */
export function computeScalerStats(ds: Dataset): ScalerStats {
  const d = ds.numFeatures;
  const n = ds.numRows;
  const f = ds.features;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  if (n === 0) return { count: 0, mean, m2 };
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mean[j] += f[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  const dev = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const x = f[o + j] - mean[j];
      dev[j] += x;
      m2[j] += x * x;
    }
  }
  for (let j = 0; j < d; j++) {
    m2[j] = Math.max(0, m2[j] - (dev[j] * dev[j]) / n);
    mean[j] += dev[j] / n;
  }
  return { count: n, mean, m2 };
}

/**
 * Merges partial statistics with Chan et al.'s pairwise update: for parts A and B with
 * δ = mean_B − mean_A and n = n_A + n_B,
 *   mean = mean_A + δ·n_B/n,   M2 = M2_A + M2_B + δ²·n_A·n_B/n.
 * Parts with count 0 are neutral. The result does not depend on the order of `list` up
 * to float64 rounding. Throws if `list` is empty or the feature counts differ.
 */
export function mergeScalerStats(list: readonly ScalerStats[]): ScalerStats {
  if (list.length === 0) throw new Error('mergeScalerStats needs at least one ScalerStats');
  const d = list[0].mean.length;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  let count = 0;
  for (const s of list) {
    if (s.mean.length !== d || s.m2.length !== d) {
      throw new Error(`mergeScalerStats: feature counts differ (${d} vs ${s.mean.length})`);
    }
    if (s.count === 0) continue;
    const n = count + s.count;
    const wb = s.count / n;
    const cross = (count * s.count) / n;
    for (let j = 0; j < d; j++) {
      const delta = s.mean[j] - mean[j];
      mean[j] += delta * wb;
      m2[j] += s.m2[j] + delta * delta * cross;
    }
    count = n;
  }
  return { count, mean, m2 };
}

/**
 * Mean and population standard deviation sqrt(M2 / count). Constant (or near-constant)
 * features get std 1 rather than a tiny floor, so they map to 0 instead of exploding later.
 */
export function scalerFromStats(stats: ScalerStats): Scaler {
  if (stats.count <= 0) throw new Error('scalerFromStats: count must be > 0');
  const d = stats.mean.length;
  const mean = Float64Array.from(stats.mean);
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(Math.max(0, stats.m2[j]) / stats.count);
    std[j] = s < MIN_STD * Math.max(1, Math.abs(mean[j])) ? 1 : s;
  }
  return { mean, std };
}

/** Returns a new Dataset with (x − mean) / std; a training split stays a training split. */
export function applyScaler(ds: TrainingSplit, scaler: Scaler): TrainingSplit;
export function applyScaler(ds: TestSplit, scaler: Scaler): TestSplit;
export function applyScaler(ds: Dataset, scaler: Scaler): Dataset;
export function applyScaler(ds: Dataset, scaler: Scaler): Dataset {
  const d = ds.numFeatures;
  if (scaler.mean.length !== d || scaler.std.length !== d) {
    throw new Error(`applyScaler: scaler has ${scaler.mean.length} features, dataset has ${d}`);
  }
  const out = new Float32Array(ds.numRows * d);
  const f = ds.features;
  for (let i = 0; i < ds.numRows; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) out[o + j] = (f[o + j] - scaler.mean[j]) / scaler.std[j];
  }
  const res: Dataset = {
    features: out,
    labels: ds.labels.slice(),
    numRows: ds.numRows,
    numFeatures: d,
    featureNames: [...ds.featureNames],
  };
  if (ds.groups) res.groups = [...ds.groups];
  if (ds.times) res.times = ds.times.slice();
  return carrySplitKind(ds, res);
}
