/**
 * Standard scaling with statistics that banks can merge: each bank publishes only
 * (count, Σx, Σx²) per feature — aggregates, not rows — and the merged scaler equals the
 * one computed on the union of all banks' rows.
 */
import type { Dataset } from '../types/index.js';
import { carrySplitKind, type TestSplit, type TrainingSplit } from './split.js';

export interface ScalerStats {
  count: number;
  sum: Float64Array;
  sumSq: Float64Array;
}

export interface Scaler {
  mean: Float64Array;
  std: Float64Array;
}

/** Below this a feature is treated as constant and left unscaled (std := 1). */
export const MIN_STD = 1e-8;

export function computeScalerStats(ds: Dataset): ScalerStats {
  const d = ds.numFeatures;
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  const f = ds.features;
  for (let i = 0; i < ds.numRows; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const x = f[o + j];
      sum[j] += x;
      sumSq[j] += x * x;
    }
  }
  return { count: ds.numRows, sum, sumSq };
}

export function mergeScalerStats(list: readonly ScalerStats[]): ScalerStats {
  if (list.length === 0) throw new Error('mergeScalerStats needs at least one ScalerStats');
  const d = list[0].sum.length;
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  let count = 0;
  for (const s of list) {
    if (s.sum.length !== d || s.sumSq.length !== d) {
      throw new Error(`mergeScalerStats: feature counts differ (${d} vs ${s.sum.length})`);
    }
    count += s.count;
    for (let j = 0; j < d; j++) {
      sum[j] += s.sum[j];
      sumSq[j] += s.sumSq[j];
    }
  }
  return { count, sum, sumSq };
}

/**
 * Mean and population standard deviation. Constant (or near-constant) features get
 * std 1 rather than a tiny floor, so they map to 0 instead of exploding later.
 */
export function scalerFromStats(stats: ScalerStats): Scaler {
  if (stats.count <= 0) throw new Error('scalerFromStats: count must be > 0');
  const d = stats.sum.length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const m = stats.sum[j] / stats.count;
    // max(0, ·): E[x²] − m² can dip below zero by rounding for constant columns.
    const v = Math.max(0, stats.sumSq[j] / stats.count - m * m);
    const s = Math.sqrt(v);
    mean[j] = m;
    std[j] = s < MIN_STD * Math.max(1, Math.abs(m)) ? 1 : s;
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
