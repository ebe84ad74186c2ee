/**
 * The bank's own data, loaded once at start-up: the training split (which alone may be
 * oversampled) and the test split used for federated evaluation. Scaled copies are
 * cached per scaler, because the federation's scaler is fixed once chosen.
 */
import {
  applyScaler,
  computeScalerStats,
  declareTrainingData,
  loadDataset,
  stratifiedSplit,
  timeSplit,
  type TrainingSplit,
} from '@finsecure/common/data';
import type { Dataset } from '@finsecure/common';
import type { FeatureStats, Scaler } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import type { BankConfig } from './config/index.js';
import { readTransactionIds } from './transaction-ids.js';
import type { FeedbackRead, FeedbackSource } from './feedback.js';

export interface LocalData {
  train: TrainingSplit;
  test: Dataset;
  stats: FeatureStats;
  numFraud: number;
  /**
   * Transaction ids of --data and --test (empty when they have no id column), so that a
   * label confirmed in the console is not added to training twice (feedback.ts).
   */
  transactionIds: Set<string>;
}

/**
 * Loads --data (and --test) with the configured layout or column mapping. Bad input
 * rejects with a DataError naming the file, line and column; loader notices (e.g. an
 * ignored pandas index column) go to `onNotice`.
 */
export async function loadLocalData(
  config: Pick<BankConfig, 'data' | 'test' | 'testFraction' | 'split' | 'layout' | 'seed' | 'mapping'>,
  onNotice?: (message: string) => void,
  /**
   * The console's transaction id column (--console-id-column), when the bank declared one: the
   * ids of --data and --test are read from it, so that an analyst's label on one of the bank's
   * own rows is never added to its training data a second time (feedback.ts).
   */
  idColumn?: string,
): Promise<LocalData> {
  const options = { layout: config.mapping ?? config.layout, ...(onNotice ? { onNotice } : {}) };
  const all = await loadDataset(config.data, options);
  let train: TrainingSplit;
  let test: Dataset;
  if (config.test) {
    test = await loadDataset(config.test, options);
    checkSameFeatures(config.data, all, config.test, test);
    train = declareTrainingData(all);
  } else if (config.split === 'time') {
    ({ train, test } = timeSplit(all, config.testFraction));
  } else {
    ({ train, test } = stratifiedSplit(all, config.testFraction, createRng(config.seed)));
  }
  if (train.numRows === 0) throw new Error(`${config.data}: no training rows left after the split`);
  // Not an error (the bank still trains), but its evaluations would carry no rows and its console
  // no threshold chosen on its own data: said at start, not discovered in a round.
  if (test.numRows === 0)
    onNotice?.(
      `${config.test ?? config.data}: no test rows${config.test ? '' : ` after the split (--test-fraction ${config.testFraction} of ${all.numRows} rows)`}: this bank cannot evaluate the global model on its own data`,
    );
  const s = computeScalerStats(train);
  let numFraud = 0;
  for (let i = 0; i < train.numRows; i++) numFraud += train.labels[i]!;
  const transactionIds = await readTransactionIds(config.data, idColumn, onNotice);
  if (config.test) for (const id of await readTransactionIds(config.test, idColumn, onNotice)) transactionIds.add(id);
  return {
    train,
    test,
    numFraud,
    transactionIds,
    stats: { count: s.count, mean: Array.from(s.mean), m2: Array.from(s.m2) },
  };
}

/**
 * --test must have --data's features in --data's order: the model reads columns by position, so
 * the same columns in another order (or categories one-hot encoded into other columns) would
 * score every test row on scrambled features. Throws naming both files and the first difference.
 */
function checkSameFeatures(dataFile: string, data: Dataset, testFile: string, test: Dataset): void {
  const a = data.featureNames;
  const b = test.featureNames;
  if (a.length === b.length && a.every((n, i) => n === b[i])) return;
  if (a.length !== b.length)
    throw new Error(`--test ${testFile} has ${b.length} features but --data ${dataFile} has ${a.length}`);
  const i = a.findIndex((n, k) => n !== b[k]);
  throw new Error(
    `--test ${testFile} has its features in another order than --data ${dataFile}: feature ${i + 1} is "${b[i]}" in --test but "${a[i]}" in --data (the columns must come in the same order)`,
  );
}

/**
 * Applies the federation's scaler, caching the result (the scaler rarely changes). With a
 * FeedbackSource, `get` (the training path) reads the analysts' confirmed labels each time
 * and appends them to the training rows; `onFeedback` hears what was read.
 */
export class ScaledData {
  private key = '';
  private cached: { train: TrainingSplit; test: Dataset } | null = null;
  private feedbackKey = '';
  private withFeedback: TrainingSplit | null = null;

  constructor(
    private readonly data: LocalData,
    private readonly feedback: FeedbackSource | null = null,
    private readonly onFeedback: (read: FeedbackRead) => void = () => {},
  ) {}

  private scaled(scaler: Scaler): { train: TrainingSplit; test: Dataset } {
    const key = JSON.stringify(scaler);
    if (key !== this.key || !this.cached) {
      const s = { mean: Float64Array.from(scaler.mean), std: Float64Array.from(scaler.std) };
      this.cached = { train: applyScaler(this.data.train, s), test: applyScaler(this.data.test, s) };
      this.key = key;
      this.feedbackKey = '';
      this.withFeedback = null;
    }
    return this.cached;
  }

  /** The scaled splits for a round's training: the training rows include the feedback labels. */
  get(scaler: Scaler): { train: TrainingSplit; test: Dataset } {
    const base = this.scaled(scaler);
    if (!this.feedback) return base;
    const { extra, read, key } = this.feedback.collect(this.data.train.featureNames);
    this.onFeedback(read);
    if (!extra) return base;
    if (key !== this.feedbackKey || !this.withFeedback) {
      const s = { mean: Float64Array.from(scaler.mean), std: Float64Array.from(scaler.std) };
      this.withFeedback = concatRows(base.train, applyScaler(extra, s));
      FEEDBACK_ROWS.set(this.withFeedback, extra.numRows);
      this.feedbackKey = key;
    }
    return { train: this.withFeedback, test: base.test };
  }

  /** The scaled test split (evaluation: no feedback read). */
  getTest(scaler: Scaler): Dataset {
    return this.scaled(scaler).test;
  }
}

/** Training splits extended with feedback rows → how many of their rows are feedback copies. */
const FEEDBACK_ROWS = new WeakMap<object, number>();

/**
 * How many rows of `train` are copies of analyst labels (0 for the bank's own split).
 * The update's FedAvg weight (numExamples) leaves them out: repeating a label k times is a
 * local emphasis, not more data, and must not raise the bank's weight in the federation
 * (nor exceed the training-set size it declared when it joined).
 */
export function feedbackRowsOf(train: TrainingSplit): number {
  return FEEDBACK_ROWS.get(train) ?? 0;
}

function concatRows(a: TrainingSplit, b: TrainingSplit): TrainingSplit {
  const features = new Float32Array(a.features.length + b.features.length);
  features.set(a.features);
  features.set(b.features, a.features.length);
  const labels = new Uint8Array(a.numRows + b.numRows);
  labels.set(a.labels);
  labels.set(b.labels, a.numRows);
  return declareTrainingData({
    features,
    labels,
    numRows: a.numRows + b.numRows,
    numFeatures: a.numFeatures,
    featureNames: a.featureNames,
  });
}
