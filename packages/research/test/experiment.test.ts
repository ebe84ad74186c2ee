/**
 * prepareExperiment is the one place the split, the partition and the global scaler
 * come from: the baseline, the local-only runs and the simulation's shard files must all
 * see the same rows and the same scaling, and the seeding must match `datasets partition`.
 */
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  computeScalerStats,
  loadDataset,
  mergeScalerStats,
  scalerFromStats,
  writeCsv,
  generateSynthetic,
} from '@finsecure/common/data';
import { writePartitionFiles } from '@finsecure/common/partition';
import { loadLocalData } from '@finsecure/bank-client';
import { concatDatasets, prepareExperiment, writeExperimentFiles, ExperimentError } from '../src/experiment.js';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-research-exp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts = {
  synthetic: 3000,
  fraudRate: 0.05,
  seed: 7,
  banks: 4,
  scheme: 'dirichlet' as const,
  alpha: 0.5,
  split: 'stratified' as const,
};

describe('prepareExperiment', () => {
  it('is deterministic: the same options give the same split, shards and scaler', async () => {
    const a = await prepareExperiment(opts);
    const b = await prepareExperiment(opts);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(Array.from(a.scaler.mean)).toEqual(Array.from(b.scaler.mean));
    expect(Array.from(a.scaler.std)).toEqual(Array.from(b.scaler.std));
    expect(a.shards.map((s) => s.numRows)).toEqual(b.shards.map((s) => s.numRows));
    expect(Array.from(a.test.labels)).toEqual(Array.from(b.test.labels));
    const c = await prepareExperiment({ ...opts, seed: 8 });
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });

  it('partitions exactly the training rows, and the scaler is the one of the pooled training data', async () => {
    const exp = await prepareExperiment(opts);
    const rows = exp.shards.reduce((n, s) => n + s.numRows, 0);
    expect(rows).toBe(exp.summary.train.rows);
    expect(rows + exp.test.numRows).toBe(3000);
    expect(exp.test.numRows).toBe(600);
    expect(exp.summary.shards.every((s) => s.frauds >= 1)).toBe(true);
    const pooled = scalerFromStats(computeScalerStats(concatDatasets(exp.shards)));
    // Merged per-shard statistics equal the pooled ones to rounding (relative 1e-12: "Time" is ~1e5).
    const close = (a: number, b: number) =>
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));
    for (let j = 0; j < exp.numFeatures; j++) {
      close(exp.scaler.mean[j]!, pooled.mean[j]!);
      close(exp.scaler.std[j]!, pooled.std[j]!);
    }
    // The pooled centralized training set is every shard, scaled with that scaler.
    const train = exp.scaledPooledTrain();
    expect(train.numRows).toBe(rows);
    const x = exp.shards[0]!.features[0]!;
    expect(train.features[0]).toBeCloseTo((x - exp.scaler.mean[0]!) / exp.scaler.std[0]!, 5);
  });

  it('gives the bank clients (through the written files) the same rows and scaler statistics as the baseline', async () => {
    const exp = await prepareExperiment(opts);
    const files = await writeExperimentFiles(exp, path.join(dir, 'files'));
    const manifest = JSON.parse(readFileSync(files.manifest, 'utf8'));
    expect(manifest.shards.map((s: { rows: number }) => s.rows)).toEqual(exp.shards.map((s) => s.numRows));
    const stats = [];
    for (let b = 0; b < exp.shards.length; b++) {
      const local = await loadLocalData({
        data: files.shards[b]!,
        test: files.test,
        testFraction: 0.2,
        split: 'stratified',
        layout: 'auto',
        seed: 1,
      });
      expect(Array.from(local.train.features)).toEqual(Array.from(exp.shards[b]!.features));
      expect(Array.from(local.test.labels)).toEqual(Array.from(exp.test.labels));
      stats.push({
        count: local.stats.count,
        mean: Float64Array.from(local.stats.mean),
        m2: Float64Array.from(local.stats.m2),
      });
    }
    // What the aggregator computes from the banks' hellos, in bank order: bit-identical.
    const fed = scalerFromStats(mergeScalerStats(stats));
    expect(Array.from(fed.mean)).toEqual(Array.from(exp.scaler.mean));
    expect(Array.from(fed.std)).toEqual(Array.from(exp.scaler.std));
  });

  it('splits and partitions exactly like `datasets partition` (writePartitionFiles) with the same seed', async () => {
    const file = path.join(dir, 'synthetic.csv');
    await writeCsv(generateSynthetic({ rows: 2000, fraudRate: 0.05, seed: 3 }), file);
    const exp = await prepareExperiment({
      data: file,
      seed: 11,
      banks: 3,
      scheme: 'dirichlet',
      alpha: 0.5,
      split: 'stratified',
    });
    const ds = await loadDataset(file);
    const m = await writePartitionFiles(
      ds,
      { path: file, layout: 'kaggle' },
      { scheme: 'dirichlet', alpha: 0.5, banks: 3, seed: 11, minFraudPerBank: 1 },
      path.join(dir, 'cli'),
    );
    expect(m.shards.map((s) => [s.rows, s.frauds])).toEqual(exp.summary.shards.map((s) => [s.rows, s.frauds]));
    expect([m.test.rows, m.test.frauds]).toEqual([exp.summary.test.rows, exp.summary.test.frauds]);
  });

  it('explains option combinations the data cannot support', async () => {
    await expect(prepareExperiment({ ...opts, scheme: 'natural' })).rejects.toThrow(
      /--scheme natural needs customer ids/,
    );
    await expect(prepareExperiment({ ...opts, synthetic: undefined })).rejects.toThrow(ExperimentError);
    await expect(
      prepareExperiment({ ...opts, synthetic: undefined, data: path.join(dir, 'missing.csv') }),
    ).rejects.toThrow(/no such file/);
  });
});
