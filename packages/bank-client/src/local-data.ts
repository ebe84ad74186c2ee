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
import type { BankConfig } from './config.js';

export interface LocalData {
  train: TrainingSplit;
  test: Dataset;
  stats: FeatureStats;
  numFraud: number;
}

/**
 * Loads --data (and --test) with the configured layout or column mapping. Bad input
 * rejects with a DataError naming the file, line and column; loader notices (e.g. an
 * ignored pandas index column) go to `onNotice`.
 */
export async function loadLocalData(
  config: Pick<BankConfig, 'data' | 'test' | 'testFraction' | 'split' | 'layout' | 'seed' | 'mapping'>,
  onNotice?: (message: string) => void,
): Promise<LocalData> {
  const options = { layout: config.mapping ?? config.layout, ...(onNotice ? { onNotice } : {}) };
  const all = await loadDataset(config.data, options);
  let train: TrainingSplit;
  let test: Dataset;
  if (config.test) {
    test = await loadDataset(config.test, options);
    if (test.numFeatures !== all.numFeatures) {
      throw new Error(`--test has ${test.numFeatures} features but --data has ${all.numFeatures}`);
    }
    train = declareTrainingData(all);
  } else if (config.split === 'time') {
    ({ train, test } = timeSplit(all, config.testFraction));
  } else {
    ({ train, test } = stratifiedSplit(all, config.testFraction, createRng(config.seed)));
  }
  if (train.numRows === 0) throw new Error(`${config.data}: no training rows left after the split`);
  const s = computeScalerStats(train);
  let numFraud = 0;
  for (let i = 0; i < train.numRows; i++) numFraud += train.labels[i]!;
  return { train, test, numFraud, stats: { count: s.count, mean: Array.from(s.mean), m2: Array.from(s.m2) } };
}

/** Applies the federation's scaler, caching the result (the scaler rarely changes). */
export class ScaledData {
  private key = '';
  private cached: { train: TrainingSplit; test: Dataset } | null = null;

  constructor(private readonly data: LocalData) {}

  get(scaler: Scaler): { train: TrainingSplit; test: Dataset } {
    const key = JSON.stringify(scaler);
    if (key !== this.key || !this.cached) {
      const s = { mean: Float64Array.from(scaler.mean), std: Float64Array.from(scaler.std) };
      this.cached = { train: applyScaler(this.data.train, s), test: applyScaler(this.data.test, s) };
      this.key = key;
    }
    return this.cached;
  }
}
