/**
 * Train/test splits and the TrainingSplit / TestSplit brands.
 *
 * Why brands: oversampling (SMOTE) or any other fitting step applied to test rows leaks
 * synthetic copies of test frauds into evaluation and inflates every metric. SMOTE
 * therefore accepts only a `TrainingSplit`, which the type checker lets you obtain only
 * from a split function (or the explicit `declareTrainingData`). The brand is also set
 * at run time (a non-enumerable, registry-wide symbol property, so it survives a second
 * copy of this module being loaded) for callers in plain JavaScript or behind `as` casts.
 */
import type { Dataset } from '../types/index.js';
import { shuffleInPlace, type Rng } from '../rng/index.js';

declare const splitBrand: unique symbol;
/** Rows that may be fitted on (oversampled, used for training). */
export type TrainingSplit = Dataset & { readonly [splitBrand]: 'train' };
/** Held-out rows: evaluate only. */
export type TestSplit = Dataset & { readonly [splitBrand]: 'test' };

const SPLIT_KIND = Symbol.for('finsecure.data.splitKind');
type SplitKind = 'train' | 'test';

function mark(ds: Dataset, kind: SplitKind): void {
  Object.defineProperty(ds, SPLIT_KIND, { value: kind, enumerable: false, configurable: true, writable: false });
}

/** 'train', 'test' or undefined for a plain Dataset (run-time view of the brand). */
export function splitKind(ds: Dataset): SplitKind | undefined {
  return (ds as unknown as Record<symbol, SplitKind | undefined>)[SPLIT_KIND];
}

export function isTrainingSplit(ds: Dataset): ds is TrainingSplit {
  return splitKind(ds) === 'train';
}

export function isTestSplit(ds: Dataset): ds is TestSplit {
  return splitKind(ds) === 'test';
}

/** Gives `to` the split kind of `from` (for transforms such as scaling). Returns `to`. */
export function carrySplitKind(from: Dataset, to: Dataset): Dataset {
  const kind = splitKind(from);
  if (kind !== undefined) mark(to, kind);
  return to;
}

/**
 * Asserts that a whole dataset is training data, e.g. a bank's shard written by
 * `datasets partition` (whose held-out rows are in a separate test.csv). Refuses a
 * dataset already marked as a test split.
 */
export function declareTrainingData(ds: Dataset): TrainingSplit {
  if (isTestSplit(ds)) throw new Error('declareTrainingData: this dataset is a test split; never train on it');
  mark(ds, 'train');
  return ds as TrainingSplit;
}

/** Copies the rows at `indices` (in that order) into a new Dataset. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const d = ds.numFeatures;
  const n = indices.length;
  const features = new Float32Array(n * d);
  const labels = new Uint8Array(n);
  const times = ds.times ? new Float64Array(n) : undefined;
  const groups = ds.groups ? new Array<string>(n) : undefined;
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.numRows) {
      throw new RangeError(`subset: index ${i} out of range [0, ${ds.numRows})`);
    }
    features.set(ds.features.subarray(i * d, (i + 1) * d), k * d);
    labels[k] = ds.labels[i];
    if (times) times[k] = ds.times![i];
    if (groups) groups[k] = ds.groups![i];
  }
  const out: Dataset = { features, labels, numRows: n, numFeatures: d, featureNames: [...ds.featureNames] };
  if (times) out.times = times;
  if (groups) out.groups = groups;
  return out;
}

export interface SplitResult {
  train: TrainingSplit;
  test: TestSplit;
  /** Source row indices of each side: ascending for stratifiedSplit, time order for timeSplit. */
  trainIndices: Int32Array;
  testIndices: Int32Array;
}

function checkFraction(testFraction: number): void {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new RangeError(`testFraction must be in [0, 1), got ${testFraction}`);
  }
}

function finishSplit(ds: Dataset, trainIdx: Int32Array, testIdx: Int32Array): SplitResult {
  if (trainIdx.length === 0) throw new Error('split leaves no training rows');
  const train = subset(ds, trainIdx);
  const test = subset(ds, testIdx);
  mark(train, 'train');
  mark(test, 'test');
  return { train: train as TrainingSplit, test: test as TestSplit, trainIndices: trainIdx, testIndices: testIdx };
}

/**
 * Seeded stratified split: each class contributes round(count × testFraction) rows to the
 * test side, so both sides keep the fraud ratio (within one row per class).
 */
export function stratifiedSplit(ds: Dataset, testFraction: number, rng: Rng): SplitResult {
  checkFraction(testFraction);
  const byClass: number[][] = [[], []];
  for (let i = 0; i < ds.numRows; i++) byClass[ds.labels[i]].push(i);
  const test: number[] = [];
  const train: number[] = [];
  for (const idx of byClass) {
    shuffleInPlace(idx, rng);
    const nTest = Math.round(idx.length * testFraction);
    for (let k = 0; k < idx.length; k++) (k < nTest ? test : train).push(idx[k]);
  }
  const asc = (a: number[]) => Int32Array.from(a).sort();
  return finishSplit(ds, asc(train), asc(test));
}

/**
 * Time-ordered split: the earliest rows train, the latest round(n × testFraction) rows
 * test (ties broken by row order), as a deployed model only ever sees the future.
 */
export function timeSplit(ds: Dataset, testFraction: number): SplitResult {
  checkFraction(testFraction);
  const times = ds.times;
  if (!times) throw new Error('timeSplit needs per-row times (Kaggle "Time" or handbook "TX_TIME_SECONDS")');
  const order = Int32Array.from({ length: ds.numRows }, (_, i) => i);
  order.sort((a, b) => times[a] - times[b] || a - b);
  const nTest = Math.round(ds.numRows * testFraction);
  const cut = ds.numRows - nTest;
  return finishSplit(ds, order.slice(0, cut), order.slice(cut));
}
