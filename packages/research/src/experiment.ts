/**
 * One experiment setup shared by the centralized baseline, the federated simulation and
 * the local-only runs: load → split off the shared test set → partition the training
 * rows among banks → fix one global standard scaler from the banks' training shards.
 *
 * The seeding follows `writePartitionFiles` (common/partition/files.ts) exactly: the
 * split uses createRng(seed).fork(), the partitioner a seed drawn next from the same
 * root, so `datasets partition --seed S` and `prepareExperiment({ seed: S })` produce
 * the same shards. The scaler is merged from per-shard statistics in bank order, which
 * is what the aggregator does when bank-1..bank-N connect in that order (the simulation
 * connects them so and checks that the federation's scaler equals this one).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Dataset } from '@finsecure/common';
import {
  applyScaler,
  computeScalerStats,
  declareTrainingData,
  generateSynthetic,
  loadCsv,
  mergeScalerStats,
  scalerFromStats,
  stratifiedSplit,
  subset,
  timeSplit,
  type Scaler,
  type ScalerStats,
  type TestSplit,
  type TrainingSplit,
} from '@finsecure/common/data';
import {
  partitionDataset,
  schemeNeedsAlpha,
  schemeNeedsGroups,
  type PartitionScheme,
} from '@finsecure/common/partition';
import { createRng } from '@finsecure/common/rng';
import {
  checkExperimentOptions,
  ExperimentError,
  type ExperimentOptions,
  type SplitKind,
} from './experiment-options.js';

// The options and the file writer have their own modules; the package index and the
// commands import them from here.
export {
  checkExperimentOptions,
  ExperimentError,
  type ExperimentOptions,
  type SplitKind,
} from './experiment-options.js';
export { writeExperimentFiles } from './experiment-files.js';

/** The resolved options (defaults filled in) that identify an experiment. */
export interface ExperimentSpec {
  source: string;
  layout: string;
  seed: number;
  banks: number;
  scheme: PartitionScheme;
  alpha: number | null;
  split: SplitKind;
  /** Fraction of all rows in the test set (for a given split: as found in the files). */
  testFraction: number;
  minFraudPerBank: number;
  /** The test file of a given split (`source` is then the training file). */
  testSource?: string;
}

export interface ShardSummary {
  bank: number;
  rows: number;
  frauds: number;
  fraudRate: number;
  groups?: number;
}

export interface Experiment {
  spec: ExperimentSpec;
  /** Stable hash of the spec and the data's shape; JSON results carry it so reuse can be checked. */
  fingerprint: string;
  numFeatures: number;
  featureNames: string[];
  totalRows: number;
  totalFrauds: number;
  /** Raw (unscaled) shared test set. */
  test: TestSplit;
  /** Raw (unscaled) training shards, bank 1 first. */
  shards: TrainingSplit[];
  shardStats: ScalerStats[];
  /** The global scaler: merged per-shard training statistics, in bank order. */
  scaler: Scaler;
  summary: { train: { rows: number; frauds: number }; test: { rows: number; frauds: number }; shards: ShardSummary[] };
  /** Scaled copies, computed on first use. */
  scaledTest(): TestSplit;
  scaledShard(bank: number): TrainingSplit;
  /** All training shards pooled (bank order) and scaled: the centralized training set. */
  scaledPooledTrain(): TrainingSplit;
}

function countFrauds(ds: Pick<Dataset, 'labels' | 'numRows'>): number {
  let n = 0;
  for (let i = 0; i < ds.numRows; i++) n += ds.labels[i]!;
  return n;
}

/** Concatenates datasets with the same features (rows in argument order). */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  if (parts.length === 0) throw new Error('concatDatasets needs at least one dataset');
  const d = parts[0]!.numFeatures;
  const rows = parts.reduce((n, p) => n + p.numRows, 0);
  const features = new Float32Array(rows * d);
  const labels = new Uint8Array(rows);
  let at = 0;
  for (const p of parts) {
    if (p.numFeatures !== d) throw new Error(`concatDatasets: feature counts differ (${d} vs ${p.numFeatures})`);
    features.set(p.features.subarray(0, p.numRows * d), at * d);
    labels.set(p.labels.subarray(0, p.numRows), at);
    at += p.numRows;
  }
  return { features, labels, numRows: rows, numFeatures: d, featureNames: [...parts[0]!.featureNames] };
}

async function loadFile(
  flag: string,
  file: string,
  o: ExperimentOptions,
): Promise<{ dataset: Dataset; layout: string; source: string }> {
  const info = await stat(file).catch(() => null);
  // A relative path is read from the working directory, which `npm run` sets to the repository's:
  // say where it looked.
  if (!info)
    throw new ExperimentError(
      `${flag} ${file}: no such file${path.isAbsolute(file) ? '' : ` (looked for ${path.resolve(file)})`}`,
    );
  if (!info.isFile()) throw new ExperimentError(`${flag} ${file}: not a file`);
  const loaded = await loadCsv(file, {
    layout: o.layout ?? 'auto',
    onNotice: (m) => console.error(`note: ${m}`),
    ...(o.onLoadProgress ? { onProgress: o.onLoadProgress } : {}),
  });
  return { dataset: loaded.dataset, layout: loaded.layout, source: path.resolve(file) };
}

/** Loads a given split and checks that the two files describe the same features. */
async function loadGivenSplit(
  o: ExperimentOptions,
): Promise<{ train: TrainingSplit; test: TestSplit; layout: string }> {
  const train = await loadFile('--train', o.train!, o);
  const test = await loadFile('--test', o.test!, o);
  const a = train.dataset.featureNames;
  const b = test.dataset.featureNames;
  if (a.length !== b.length || a.some((n, i) => n !== b[i])) {
    const i = a.findIndex((n, k) => n !== b[k]);
    throw new ExperimentError(
      `--test ${o.test} has other features than --train ${o.train}: ${b.length} vs ${a.length} features, ` +
        `first difference at feature ${i + 1} ("${b[i] ?? '(none)'}" vs "${a[i] ?? '(none)'}")`,
    );
  }
  if (train.layout !== test.layout) {
    throw new ExperimentError(
      `--train ${o.train} is in the ${train.layout} layout but --test ${o.test} in the ${test.layout} layout`,
    );
  }
  checkTestSplit(test.dataset, `--test ${o.test}`);
  // The test file is held out by construction: it is only ever evaluated on.
  return { train: declareTrainingData(train.dataset), test: test.dataset as TestSplit, layout: train.layout };
}

/**
 * The test rows must hold both classes: without a fraud, AUPRC, recall and F1 are undefined; without a
 * legitimate row, ROC AUC and the false-positive rate are. Refused (ExperimentError, exit 2) rather
 * than reported as 0. `what` names the rows for the message.
 */
function checkTestSplit(test: Dataset, what: string): void {
  if (test.numRows === 0) throw new ExperimentError(`${what} has no rows: raise --test-fraction or use more data`);
  const frauds = countFrauds(test);
  if (frauds === 0) {
    throw new ExperimentError(
      `${what} has no fraud rows (${test.numRows} rows): AUPRC, recall and F1 are undefined on it; use data with more frauds or a larger --test-fraction`,
    );
  }
  if (frauds === test.numRows) {
    throw new ExperimentError(
      `${what} has no legitimate rows (${test.numRows} rows, all fraud): ROC AUC and the false-positive rate are undefined on it`,
    );
  }
}

/** The bytes of a typed array's view (not of its whole buffer). */
function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Loads (or generates) the data and prepares the experiment. Throws ExperimentError for
 * combinations the data cannot support (e.g. --split time without a time column,
 * --scheme natural without customer ids); data and partition errors pass through with
 * their own messages.
 */
export async function prepareExperiment(o: ExperimentOptions): Promise<Experiment> {
  checkExperimentOptions(o);
  let ds: Dataset;
  let layout: string;
  let source: string;
  let testSource: string | undefined;
  let given: { train: TrainingSplit; test: TestSplit } | null = null;
  if (o.train !== undefined) {
    const g = await loadGivenSplit(o);
    ds = concatDatasets([g.train, g.test]); // only counted (rows, frauds); never trained on
    given = { train: g.train, test: g.test };
    layout = g.layout;
    source = path.resolve(o.train);
    testSource = path.resolve(o.test!);
  } else if (o.synthetic !== undefined) {
    const fraudRate = o.fraudRate ?? 0.01;
    ds = generateSynthetic({ rows: o.synthetic, fraudRate, seed: o.seed });
    layout = 'kaggle';
    source = `synthetic:${o.synthetic}:${fraudRate}:${o.seed}`;
  } else {
    const loaded = await loadFile('--data', o.data!, o);
    ds = loaded.dataset;
    layout = loaded.layout;
    source = loaded.source;
  }
  const minFraudPerBank = o.minFraudPerBank ?? 1;
  if (o.split === 'time' && !ds.times) {
    throw new ExperimentError(
      `--split time needs a time column (Kaggle "Time" or handbook "TX_TIME_SECONDS"); ${source} has none`,
    );
  }
  const groupsOf = given ? given.train : ds;
  if (schemeNeedsGroups(o.scheme) && !groupsOf.groups) {
    throw new ExperimentError(
      `--scheme ${o.scheme} needs customer ids (the handbook CUSTOMER_ID column); ${source} has none`,
    );
  }

  // Same seeding as writePartitionFiles.
  const root = createRng(o.seed);
  const splitRng = root.fork();
  const partitionSeed = root.int(0x7fffffff);
  const split = given
    ? given
    : o.split === 'time'
      ? timeSplit(ds, o.testFraction ?? 0.2)
      : stratifiedSplit(ds, o.testFraction ?? 0.2, splitRng);
  const testFraction = given ? given.test.numRows / ds.numRows : (o.testFraction ?? 0.2);
  // A given --test file was checked as it was loaded.
  if (!given) checkTestSplit(split.test, `the test split (--test-fraction ${testFraction})`);
  const parts = partitionDataset(split.train, {
    scheme: o.scheme,
    banks: o.banks,
    seed: partitionSeed,
    minFraudPerBank,
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
  });
  const shards = parts.map((idx) => declareTrainingData(subset(split.train, idx)));
  const shardStats = shards.map((s) => computeScalerStats(s));
  const scaler = scalerFromStats(mergeScalerStats(shardStats));

  const spec: ExperimentSpec = {
    source,
    layout,
    seed: o.seed,
    banks: o.banks,
    scheme: o.scheme,
    alpha: schemeNeedsAlpha(o.scheme) ? o.alpha! : null,
    split: o.split,
    testFraction,
    minFraudPerBank,
    ...(testSource !== undefined ? { testSource } : {}),
  };
  const totalFrauds = countFrauds(ds);
  // The rows themselves, not only their counts: `compare --reuse` must not take results computed on
  // another file that happens to have the same path, rows and frauds.
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ spec, rows: ds.numRows, frauds: totalFrauds, features: ds.featureNames }))
    .update(bytesOf(ds.features))
    .update(ds.labels)
    .digest('hex')
    .slice(0, 16);

  let test: TestSplit | null = null;
  const scaledShards = new Map<number, TrainingSplit>();
  let pooled: TrainingSplit | null = null;
  const summaryShards: ShardSummary[] = shards.map((s, b) => {
    const frauds = countFrauds(s);
    const out: ShardSummary = { bank: b + 1, rows: s.numRows, frauds, fraudRate: s.numRows ? frauds / s.numRows : 0 };
    if (s.groups) out.groups = new Set(s.groups).size;
    return out;
  });
  return {
    spec,
    fingerprint,
    numFeatures: ds.numFeatures,
    featureNames: [...ds.featureNames],
    totalRows: ds.numRows,
    totalFrauds,
    test: split.test,
    shards,
    shardStats,
    scaler,
    summary: {
      train: { rows: split.train.numRows, frauds: countFrauds(split.train) },
      test: { rows: split.test.numRows, frauds: countFrauds(split.test) },
      shards: summaryShards,
    },
    scaledTest() {
      test ??= applyScaler(split.test, scaler);
      return test;
    },
    scaledShard(bank: number) {
      const s = shards[bank];
      if (!s) throw new RangeError(`no bank ${bank + 1}`);
      let out = scaledShards.get(bank);
      if (!out) scaledShards.set(bank, (out = applyScaler(s, scaler)));
      return out;
    },
    scaledPooledTrain() {
      pooled ??= declareTrainingData(applyScaler(concatDatasets(shards), scaler));
      return pooled;
    },
  };
}

/** The experiment in a JSON-friendly form (for result files and reports). */
export function describeExperiment(exp: Experiment) {
  return {
    ...exp.spec,
    fingerprint: exp.fingerprint,
    rows: exp.totalRows,
    frauds: exp.totalFrauds,
    numFeatures: exp.numFeatures,
    train: exp.summary.train,
    test: exp.summary.test,
    shards: exp.summary.shards,
  };
}
export type ExperimentDescription = ReturnType<typeof describeExperiment>;
