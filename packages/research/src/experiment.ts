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
import { mkdir, stat, writeFile } from 'node:fs/promises';
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
  writeCsv,
  type Scaler,
  type ScalerStats,
  type TestSplit,
  type TrainingSplit,
} from '@finsecure/common/data';
import { partitionDataset, type PartitionManifest, type PartitionScheme } from '@finsecure/common/partition';
import { createRng } from '@finsecure/common/rng';

export type SplitKind = 'stratified' | 'time';

export interface ExperimentOptions {
  /** CSV file (Kaggle, handbook or FinSecure layout; .gz allowed). Exclusive with `synthetic`. */
  data?: string;
  /** Generate this many synthetic Kaggle-like rows in memory instead of reading `data`. */
  synthetic?: number;
  /** Fraud rate of synthetic data. Default 0.01. */
  fraudRate?: number;
  layout?: 'auto' | 'kaggle' | 'handbook';
  seed: number;
  banks: number;
  scheme: PartitionScheme;
  /** Dirichlet / quantity concentration. */
  alpha?: number;
  split: SplitKind;
  /** Fraction of rows held out as the shared test set. Default 0.2. */
  testFraction?: number;
  /** Fraud rows guaranteed per bank. Default 1. */
  minFraudPerBank?: number;
  /** Called while the CSV loads (rows read, bytes read, total bytes). */
  onLoadProgress?: (rows: number, bytes: number, total: number) => void;
}

/** The resolved options (defaults filled in) that identify an experiment. */
export interface ExperimentSpec {
  source: string;
  layout: string;
  seed: number;
  banks: number;
  scheme: PartitionScheme;
  alpha: number | null;
  split: SplitKind;
  testFraction: number;
  minFraudPerBank: number;
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

export class ExperimentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
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

/** Validates option combinations that the partitioner or splitter would reject later with a less useful message. */
export function checkExperimentOptions(o: ExperimentOptions): void {
  if ((o.data === undefined) === (o.synthetic === undefined)) {
    throw new ExperimentError('give exactly one of --data <csv> or --synthetic <rows>');
  }
  if (!Number.isInteger(o.banks) || o.banks < 1)
    throw new ExperimentError(`--banks must be an integer ≥ 1, got ${o.banks}`);
  if ((o.scheme === 'dirichlet' || o.scheme === 'quantity') && !(o.alpha !== undefined && o.alpha > 0)) {
    throw new ExperimentError(`--scheme ${o.scheme} needs --alpha > 0`);
  }
  const tf = o.testFraction ?? 0.2;
  if (!(tf > 0 && tf < 1)) throw new ExperimentError(`--test-fraction must be in (0, 1), got ${tf}`);
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
  if (o.synthetic !== undefined) {
    const fraudRate = o.fraudRate ?? 0.01;
    ds = generateSynthetic({ rows: o.synthetic, fraudRate, seed: o.seed });
    layout = 'kaggle';
    source = `synthetic:${o.synthetic}:${fraudRate}:${o.seed}`;
  } else {
    const info = await stat(o.data!).catch(() => null);
    if (!info) throw new ExperimentError(`--data ${o.data}: no such file`);
    if (!info.isFile()) throw new ExperimentError(`--data ${o.data}: not a file`);
    const loaded = await loadCsv(o.data!, {
      layout: o.layout ?? 'auto',
      ...(o.onLoadProgress ? { onProgress: o.onLoadProgress } : {}),
    });
    ds = loaded.dataset;
    layout = loaded.layout;
    source = path.resolve(o.data!);
  }
  const testFraction = o.testFraction ?? 0.2;
  const minFraudPerBank = o.minFraudPerBank ?? 1;
  if (o.split === 'time' && !ds.times) {
    throw new ExperimentError(
      `--split time needs a time column (Kaggle "Time" or handbook "TX_TIME_SECONDS"); ${source} has none`,
    );
  }
  if (o.scheme === 'natural' && !ds.groups) {
    throw new ExperimentError(
      `--scheme natural needs customer ids (the handbook CUSTOMER_ID column); ${source} has none`,
    );
  }

  // Same seeding as writePartitionFiles.
  const root = createRng(o.seed);
  const splitRng = root.fork();
  const partitionSeed = root.int(0x7fffffff);
  const split = o.split === 'time' ? timeSplit(ds, testFraction) : stratifiedSplit(ds, testFraction, splitRng);
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
    alpha: o.scheme === 'dirichlet' || o.scheme === 'quantity' ? o.alpha! : null,
    split: o.split,
    testFraction,
    minFraudPerBank,
  };
  const totalFrauds = countFrauds(ds);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ spec, rows: ds.numRows, frauds: totalFrauds, features: ds.featureNames }))
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

/**
 * Writes bank-1.csv … bank-N.csv, test.csv and manifest.json (the `datasets partition`
 * format) for bank clients to load. Values round-trip exactly (float32 shortest form).
 */
export async function writeExperimentFiles(
  exp: Experiment,
  dir: string,
): Promise<{ shards: string[]; test: string; manifest: string }> {
  await mkdir(dir, { recursive: true });
  const shardFiles: string[] = [];
  let fileLayout = '';
  for (let b = 0; b < exp.shards.length; b++) {
    const file = path.join(dir, `bank-${b + 1}.csv`);
    fileLayout = await writeCsv(exp.shards[b]!, file);
    shardFiles.push(file);
  }
  const testFile = path.join(dir, 'test.csv');
  await writeCsv(exp.test, testFile);
  const info = (s: { rows: number; frauds: number }, file: string) => ({
    file,
    rows: s.rows,
    frauds: s.frauds,
    fraudRate: s.rows ? s.frauds / s.rows : 0,
  });
  const manifest: PartitionManifest = {
    version: 1,
    source: { path: exp.spec.source, layout: exp.spec.layout, rows: exp.totalRows, frauds: exp.totalFrauds },
    scheme: exp.spec.scheme,
    ...(exp.spec.alpha !== null ? { alpha: exp.spec.alpha } : {}),
    seed: exp.spec.seed,
    banks: exp.spec.banks,
    minFraudPerBank: exp.spec.minFraudPerBank,
    split: { kind: exp.spec.split, testFraction: exp.spec.testFraction },
    featureNames: [...exp.featureNames],
    fileLayout,
    test: info(exp.summary.test, 'test.csv'),
    shards: exp.summary.shards.map((s) => ({
      ...info(s, `bank-${s.bank}.csv`),
      bank: s.bank,
      ...(s.groups !== undefined ? { groups: s.groups } : {}),
    })),
  };
  const manifestFile = path.join(dir, 'manifest.json');
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  return { shards: shardFiles, test: testFile, manifest: manifestFile };
}
