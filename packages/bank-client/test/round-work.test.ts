/** One bank's local work, with real TF.js training on a small synthetic shard. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MLP, initBackend, initWeights, MlpTrainer } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { smote } from '@finsecure/common/smote';
import { l2Norm } from '@finsecure/common/dp';
import { cleanup, tempDir, writeShards } from '../../aggregator/test/helpers/federation.js';
import { loadLocalData, ScaledData, type LocalData } from '../src/local-data.js';
import { evaluate, fit } from '../src/round-work.js';

let dir: string;
let data: LocalData;
const config = {
  epochs: 2,
  batchSize: 32,
  learningRate: 0.003,
  smoteRatio: 0.5,
  smoteK: 3,
  updateEncoding: 'float32' as const,
};
const noYield = async () => {};

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('finsecure-work-');
  const [file] = await writeShards(dir, 1, 1000, 0.05);
  data = await loadLocalData({ data: file!, testFraction: 0.3, split: 'stratified', layout: 'auto', seed: 1 });
});
afterAll(() => cleanup(dir));

function frauds(labels: Uint8Array): number {
  return labels.reduce((n, x) => n + x, 0);
}

describe('local round work', () => {
  it('oversamples only the training split and reports the pre-oversampling count', async () => {
    const scaler = { mean: [...data.stats.mean], std: new Array(30).fill(1) };
    const { train, test } = new ScaledData(data).get(scaler);
    const testFraudsBefore = frauds(test.labels);
    const global = initWeights(DEFAULT_MLP, createRng(1)).data;
    const trainer = new MlpTrainer(DEFAULT_MLP, {
      data: global,
      manifest: initWeights(DEFAULT_MLP, createRng(1)).manifest,
    });
    const out = await fit(trainer, global, train, config, null, createRng(2), createRng(3), noYield);
    expect(out.numExamples).toBe(train.numRows);
    expect(out.numSynthetic).toBeGreaterThan(0);
    expect(out.numTrained).toBe(train.numRows + out.numSynthetic);
    // The test split is untouched, and SMOTE refuses it outright.
    expect(test.numRows).toBe(data.test.numRows);
    expect(frauds(test.labels)).toBe(testFraudsBefore);
    expect(() => smote(test as never, { targetRatio: 0.5, rng: createRng(1) })).toThrow(/test split/);
    expect(out.delta).toHaveLength(4097);
    expect(l2Norm(out.delta)).toBeGreaterThan(0);
    trainer.dispose();
  });

  it('clips and noises the update when DP is on', async () => {
    const { train } = new ScaledData(data).get({ mean: new Array(30).fill(0), std: new Array(30).fill(1) });
    const w = initWeights(DEFAULT_MLP, createRng(1));
    const trainer = new MlpTrainer(DEFAULT_MLP, w);
    const plain = await fit(trainer, w.data, train, config, null, createRng(2), createRng(3), noYield);
    const clipped = await fit(
      trainer,
      w.data,
      train,
      config,
      { clip: 0.01, noiseMultiplier: 0 },
      createRng(2),
      createRng(3),
      noYield,
    );
    expect(clipped.dp).toEqual({ clip: 0.01, noiseMultiplier: 0, clipped: true });
    expect(l2Norm(clipped.delta)).toBeLessThanOrEqual(0.01 + 1e-6);
    expect(l2Norm(plain.delta)).toBeGreaterThan(0.01);
    const noisy = await fit(
      trainer,
      w.data,
      train,
      config,
      { clip: 0.01, noiseMultiplier: 1 },
      createRng(2),
      createRng(3),
      noYield,
    );
    // Noise of std Z·C per coordinate: the norm grows to about Z·C·√n.
    expect(l2Norm(noisy.delta)).toBeGreaterThan(0.5 * 0.01 * Math.sqrt(4097));
    trainer.dispose();
  });

  it('evaluates into counts and a histogram, never scores per row', () => {
    const { test } = new ScaledData(data).get({ mean: new Array(30).fill(0), std: new Array(30).fill(1) });
    const w = initWeights(DEFAULT_MLP, createRng(1));
    const trainer = new MlpTrainer(DEFAULT_MLP, w);
    const out = evaluate(trainer, w.data, test, 0.5, 50);
    const c = out.confusion;
    expect(c.tp + c.fp + c.tn + c.fn).toBe(test.numRows);
    expect(c.tp + c.fn).toBe(frauds(test.labels));
    expect(out.histogram.positives.reduce((a, b) => a + b, 0)).toBe(frauds(test.labels));
    expect(out.histogram.bins).toBe(50);
    expect(Object.keys(out).sort()).toEqual(['confusion', 'evalMs', 'histogram', 'loss', 'numExamples']);
    trainer.dispose();
  });

  it('uses a separate test file when given one', async () => {
    const [other] = await writeShards(path.join(dir, 'other'), 1, 200);
    const d = await loadLocalData({
      data: other!,
      test: other!,
      testFraction: 0.2,
      split: 'stratified',
      layout: 'auto',
      seed: 1,
    });
    expect(d.train.numRows).toBe(200);
    expect(d.test.numRows).toBe(200);
  });

  it('says at load when the split leaves no test rows', async () => {
    const one = path.join(dir, 'one-row.csv');
    writeFileSync(one, 'amount,hour,Class\n47.44,1,1\n');
    const told: string[] = [];
    const d = await loadLocalData({ data: one, testFraction: 0.2, split: 'stratified', layout: 'auto', seed: 1 }, (m) =>
      told.push(m),
    );
    expect(d.test.numRows).toBe(0);
    expect(told).toContain(
      `${one}: no test rows after the split (--test-fraction 0.2 of 1 rows): this bank cannot evaluate the global model on its own data`,
    );
  });

  it('refuses a test file with the same columns in another order, naming both files and the first difference', async () => {
    const data = path.join(dir, 'ordered.csv');
    const test = path.join(dir, 'reordered.csv');
    writeFileSync(data, 'amount,hour,distance_km,Class\n47.44,1,0.46,0\n9.29,21,4.27,1\n3.1,2,1.5,0\n');
    writeFileSync(test, 'distance_km,amount,hour,Class\n2.79,38.34,20,0\n33.54,433.83,13,1\n');
    const load = () => loadLocalData({ data, test, testFraction: 0.2, split: 'stratified', layout: 'auto', seed: 1 });
    await expect(load()).rejects.toThrow(
      `--test ${test} has its features in another order than --data ${data}: feature 1 is "distance_km" in --test but "amount" in --data`,
    );
  });
});
