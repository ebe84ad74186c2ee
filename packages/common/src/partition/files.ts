/**
 * The on-disk result of `datasets partition`: split off a shared test set first, then
 * partition the training rows, and write bank-1.csv … bank-N.csv, test.csv and a
 * manifest.json describing them. Splitting before partitioning means every bank is
 * evaluated on the same held-out rows, which none of them trained on.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset } from '../types/index.js';
import { createRng } from '../rng/index.js';
import { stratifiedSplit, subset, timeSplit } from '../data/split.js';
import { writeCsv } from '../data/writer.js';
import { PartitionError } from './constraints.js';
import { partitionDataset, schemeNeedsAlpha, type AnyPartitionOptions } from './schemes.js';

export interface PartitionFilesOptions extends AnyPartitionOptions {
  /** Fraction of rows held out as the shared test set, in [0, 1). Default 0.2. */
  testFraction?: number;
  /** 'stratified' (seeded, keeps the fraud ratio; default) or 'time' (latest rows test). */
  split?: 'stratified' | 'time';
}

export interface ShardInfo {
  file: string;
  rows: number;
  frauds: number;
  fraudRate: number;
  /** Distinct groups (customers) in the shard, when the data has groups. */
  groups?: number;
}

export interface PartitionManifest {
  version: 1;
  source: { path: string; layout: string; rows: number; frauds: number };
  scheme: string;
  alpha?: number;
  quantitySizes?: string;
  seed: number;
  banks: number;
  minFraudPerBank: number;
  /** 'given': the research tools' --train/--test (test.csv is the given test file). */
  split: { kind: 'stratified' | 'time' | 'given'; testFraction: number };
  featureNames: string[];
  /** The layout the CSVs were written in (what the loader will detect). */
  fileLayout: string;
  test: ShardInfo;
  shards: (ShardInfo & { bank: number })[];
}

function info(ds: Dataset, file: string): ShardInfo {
  let frauds = 0;
  for (let i = 0; i < ds.numRows; i++) frauds += ds.labels[i];
  const out: ShardInfo = { file, rows: ds.numRows, frauds, fraudRate: ds.numRows ? frauds / ds.numRows : 0 };
  if (ds.groups) out.groups = new Set(ds.groups).size;
  return out;
}

export interface PartitionFilesHooks {
  /** Rows written so far across all files, out of `total` (train + test rows). */
  onWriteProgress?: (written: number, total: number) => void;
}

/**
 * Splits, partitions and writes the files. Seeds: the split uses createRng(seed).fork(),
 * the partitioner a seed drawn from the same root, so one --seed reproduces everything.
 */
export async function writePartitionFiles(
  ds: Dataset,
  source: { path: string; layout: string },
  options: PartitionFilesOptions,
  outDir: string,
  hooks: PartitionFilesHooks = {},
): Promise<PartitionManifest> {
  const testFraction = options.testFraction ?? 0.2;
  const kind = options.split ?? 'stratified';
  const root = createRng(options.seed);
  const splitRng = root.fork();
  const partitionSeed = root.int(0x7fffffff);
  const split = kind === 'time' ? timeSplit(ds, testFraction) : stratifiedSplit(ds, testFraction, splitRng);
  let parts: number[][];
  try {
    parts = partitionDataset(split.train, { ...options, seed: partitionSeed });
  } catch (e) {
    if (!(e instanceof PartitionError)) throw e;
    // Say which rows were being partitioned: the test set was already taken out.
    const frauds = info(split.train, '').frauds;
    throw new PartitionError(
      `partitioning the ${split.train.numRows} training rows (${frauds} frauds, after holding out ` +
        `${split.test.numRows} test rows): ${e.message}`,
    );
  }

  await mkdir(outDir, { recursive: true });
  const total = ds.numRows;
  let before = 0;
  let fileLayout = '';
  const write = async (part: Dataset, file: string): Promise<ShardInfo> => {
    const at = before;
    fileLayout = await writeCsv(part, join(outDir, file), {
      onProgress: (n) => hooks.onWriteProgress?.(at + n, total),
    });
    before += part.numRows;
    return info(part, file);
  };
  const shards: PartitionManifest['shards'] = [];
  for (let b = 0; b < parts.length; b++) {
    const shard = subset(split.train, parts[b]);
    shards.push({ bank: b + 1, ...(await write(shard, `bank-${b + 1}.csv`)) });
  }
  const test = await write(split.test, 'test.csv');
  const manifest: PartitionManifest = {
    version: 1,
    source: { path: source.path, layout: source.layout, rows: ds.numRows, frauds: info(ds, '').frauds },
    scheme: options.scheme,
    ...(schemeNeedsAlpha(options.scheme) ? { alpha: options.alpha } : {}),
    ...(options.scheme === 'quantity' || options.scheme === 'natural-skew'
      ? { quantitySizes: options.quantitySizes ?? 'dirichlet' }
      : {}),
    seed: options.seed,
    banks: options.banks,
    minFraudPerBank: options.minFraudPerBank ?? 1,
    split: { kind, testFraction },
    featureNames: [...ds.featureNames],
    fileLayout,
    test,
    shards,
  };
  await writeFile(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
