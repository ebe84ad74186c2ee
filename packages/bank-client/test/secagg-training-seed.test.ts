/**
 * Local training must not be a function of what the aggregator controls: were the training seed
 * only the bank's fixed seed, the round id and the round's seed, an aggregator could replay a
 * secure round (or compensate a new round id with the round's seed), get bit-identical updates
 * from every bank, and subtract two secure sums whose survivors differ by one bank to obtain that
 * bank's update. Unless the operator pinned a seed (reproducible research), each run draws fresh
 * randomness.
 */
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MLP, initBackend, initWeights } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import type { TrainingConfig } from '@finsecure/common/protocol';
import { cleanup, tempDir, writeShards } from '../../aggregator/test/helpers/federation.js';
import { loadBankConfig } from '../src/config/index.js';
import type { FeedbackHistoryFile } from '../src/feedback.js';
import { loadLocalData, ScaledData, type LocalData } from '../src/local-data.js';
import { LocalModel } from '../src/local-model.js';

let dir: string;
let file: string;
let data: LocalData;
const config: TrainingConfig = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.003,
  smoteRatio: 0.5,
  smoteK: 3,
  updateEncoding: 'float32',
};

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('finsecure-seed-');
  [file] = await writeShards(dir, 1, 600, 0.05);
  data = await loadLocalData({ data: file, testFraction: 0.3, split: 'stratified', layout: 'auto', seed: 1 });
});
afterAll(() => cleanup(dir));

function model(flags: Record<string, unknown>, name: string): LocalModel {
  const bank = loadBankConfig({
    flags: {
      server: 'ws://localhost:1/ws/bank',
      bankId: 'bank-a',
      token: 'x'.repeat(32),
      data: file,
      stateDir: path.join(dir, name),
      ...flags,
    },
  });
  const m = new LocalModel({
    config: bank,
    data,
    scaled: new ScaledData(data),
    feedbackHistory: {} as FeedbackHistoryFile,
    noiseRng: createRng(5),
    logger: pino({ level: 'silent' }),
    onProgress: () => {},
  });
  m.ensure(DEFAULT_MLP);
  return m;
}

const scaler = () => ({ mean: [...data.stats.mean], std: new Array<number>(30).fill(1) });
const same = (x: Float32Array, y: Float32Array) => x.length === y.length && x.every((v, i) => v === y[i]);

describe('the training seed', () => {
  it('differs between two attempts of the same round: a replay gets a different update', async () => {
    const m = model({}, 'unpinned');
    const global = initWeights(DEFAULT_MLP, createRng(1)).data;
    const first = await m.fit(5, global, config, scaler(), null);
    const replay = await m.fit(5, global, config, scaler(), null);
    expect(same(first.delta, replay.delta)).toBe(false);
    // Nor can a new round id with a compensating round seed reproduce it.
    const compensated = await m.fit(6, global, { ...config, seed: -7919 }, scaler(), null);
    expect(same(first.delta, compensated.delta)).toBe(false);
    // A second daemon of the same bank (same default seed) does not repeat it either.
    const restarted = await model({}, 'unpinned-2').fit(5, global, config, scaler(), null);
    expect(same(first.delta, restarted.delta)).toBe(false);
  }, 60_000);

  it('is reproducible when the operator pinned a seed (research), from a flag or the environment', async () => {
    const global = initWeights(DEFAULT_MLP, createRng(1)).data;
    const pinned = model({ seed: 42 }, 'pinned');
    const a = await pinned.fit(5, global, config, scaler(), null);
    const b = await pinned.fit(5, global, config, scaler(), null);
    expect(same(a.delta, b.delta)).toBe(true);
    const other = await model({ seed: 42 }, 'pinned-2').fit(5, global, config, scaler(), null);
    expect(same(a.delta, other.delta)).toBe(true);
    expect(loadBankConfig({ env: { FINSECURE_BANK_SEED: '1' }, flags: base() }).seedPinned).toBe(true);
    // The default seed (1) is not pinned, even though it has the same value.
    expect(loadBankConfig({ flags: base() }).seedPinned).toBe(false);
    expect(loadBankConfig({ flags: base() }).seed).toBe(1);
  }, 60_000);
});

function base() {
  return { server: 'ws://localhost:1/ws/bank', bankId: 'bank-a', token: 'x'.repeat(32), data: 'a.csv' };
}
