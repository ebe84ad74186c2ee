/**
 * SMOTE (Chawla et al., 2002): synthetic fraud rows interpolated between a fraud row and
 * one of its k nearest fraud neighbours, x = a + gap · (b − a), gap ~ U[0, 1).
 *
 * It only accepts a `TrainingSplit`. Oversampling before the train/test split, or on
 * the test side, puts near-copies of test frauds into training or into evaluation and
 * silently inflates recall and AUPRC; the brand makes that a type error, and a run-time
 * check catches JavaScript callers and `as` casts.
 */
import type { Rng } from '../rng/index.js';
import { declareTrainingData, isTestSplit, isTrainingSplit, type TrainingSplit } from '../data/split.js';
import type { Dataset } from '../types/index.js';
import { nearestNeighbours } from './knn.js';

export interface SmoteOptions {
  /** Oversample until frauds / legitimate ≥ targetRatio (e.g. 0.1, or 1 for balance). */
  targetRatio: number;
  /** Neighbours to interpolate towards; capped at (fraud rows − 1). Default 5. */
  k?: number;
  /**
   * Cap on the synthetic rows, as a multiple of the REAL fraud rows: at most
   * ⌊maxMultiplier × frauds⌋ synthetic rows are made, even if the target ratio is then
   * not reached. Without it, a shard with 1 fraud among 25,000 rows gets 2,500 copies
   * of that one row at targetRatio 0.1, and a model trained on it memorises the row.
   * Omitted or Infinity: no cap. 0: no synthetic rows.
   */
  maxMultiplier?: number;
  rng: Rng;
}

export interface SmoteResult {
  /** Original rows first, then the synthetic frauds. The input itself when nothing was added. */
  dataset: TrainingSplit;
  originalRows: number;
  /** Fraud (label 1) and legitimate rows of the input. */
  minority: number;
  majority: number;
  synthetic: number;
  /** The k actually used (0 when a single fraud row was duplicated). */
  k: number;
  /** Why no synthetic rows were made, when none were. */
  skipped?: string;
  /** Synthetic rows the target ratio asked for, when `maxMultiplier` lowered them (else absent). */
  cappedFrom?: number;
  /** For each synthetic row, the input rows it was interpolated between: [a0, b0, a1, b1, ...]. */
  sources: Int32Array;
}

function checkInput(train: Dataset, o: SmoteOptions): number {
  if (isTestSplit(train)) {
    throw new Error('SMOTE refused: this is a test split; oversample only the training side (split.train)');
  }
  if (!isTrainingSplit(train)) {
    throw new Error(
      'SMOTE refused: pass split.train from stratifiedSplit/timeSplit (or declareTrainingData for a training shard), ' +
        'never a dataset that may contain test rows',
    );
  }
  if (!(o.targetRatio > 0 && Number.isFinite(o.targetRatio))) {
    throw new RangeError(`targetRatio must be a finite number > 0, got ${o.targetRatio}`);
  }
  const k = o.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer ≥ 1, got ${k}`);
  if (o.maxMultiplier !== undefined && !(o.maxMultiplier >= 0))
    throw new RangeError(`maxMultiplier must be a number ≥ 0 (Infinity: no cap), got ${o.maxMultiplier}`);
  return k;
}

/** Oversamples the fraud class of a training split. Deterministic for a given rng state. */
export function smote(train: TrainingSplit, options: SmoteOptions): SmoteResult {
  const kWanted = checkInput(train, options);
  const { numRows: n, numFeatures: d, features, labels } = train;
  const minorityRows: number[] = [];
  for (let i = 0; i < n; i++) if (labels[i] === 1) minorityRows.push(i);
  const m = minorityRows.length;
  const majority = n - m;
  const base = { originalRows: n, minority: m, majority, synthetic: 0, sources: new Int32Array(0) };
  if (m === 0) return { ...base, dataset: train, k: 0, skipped: 'no fraud rows to interpolate between' };
  if (majority === 0) return { ...base, dataset: train, k: 0, skipped: 'no legitimate rows: ratio is unbounded' };
  const wanted = Math.max(0, Math.ceil(options.targetRatio * majority) - m);
  if (wanted === 0)
    return { ...base, dataset: train, k: 0, skipped: `ratio ${(m / majority).toFixed(4)} already ≥ target` };
  const cap = options.maxMultiplier === undefined ? Infinity : Math.floor(options.maxMultiplier * m);
  const needed = Math.min(wanted, cap);
  const capped = needed < wanted ? { cappedFrom: wanted } : {};
  if (needed === 0)
    return { ...base, ...capped, dataset: train, k: 0, skipped: `maxMultiplier ${options.maxMultiplier} allows none` };

  // One fraud row has no neighbour: its synthetic rows are exact duplicates.
  const k = Math.min(kWanted, m - 1);
  const neighbours = k > 0 ? nearestNeighbours(features, d, minorityRows, k) : null;
  const total = n + needed;
  const out = new Float32Array(total * d);
  out.set(features.subarray(0, n * d));
  const outLabels = new Uint8Array(total);
  outLabels.set(labels);
  outLabels.fill(1, n);
  const sources = new Int32Array(needed * 2);
  const groups = train.groups ? [...train.groups] : undefined;
  const times = train.times ? new Float64Array(total) : undefined;
  if (times) times.set(train.times!);
  const rng = options.rng;
  for (let s = 0; s < needed; s++) {
    const pa = rng.int(m);
    const pb = neighbours ? neighbours[pa * k + rng.int(k)] : pa;
    const a = minorityRows[pa];
    const b = minorityRows[pb];
    const gap = rng.next();
    const o = (n + s) * d;
    for (let j = 0; j < d; j++) {
      const xa = features[a * d + j];
      out[o + j] = xa + gap * (features[b * d + j] - xa);
    }
    sources[2 * s] = a;
    sources[2 * s + 1] = b;
    // Group and time are not interpolated: the synthetic row inherits its base row's.
    if (groups) groups.push(groups[a]);
    if (times) times[n + s] = train.times![a];
  }
  const result: Dataset = {
    features: out,
    labels: outLabels,
    numRows: total,
    numFeatures: d,
    featureNames: [...train.featureNames],
  };
  if (groups) result.groups = groups;
  if (times) result.times = times;
  return { ...base, ...capped, synthetic: needed, k, sources, dataset: declareTrainingData(result) };
}
