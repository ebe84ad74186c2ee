/**
 * MlpTrainer's weights, prediction and errors: weights round-trip as copies, prediction is the
 * same in chunks and follows setWeights, and bad data, options and weights are refused with the
 * reason. Training itself: model-trainer.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MLP,
  binaryCrossEntropy,
  initBackend,
  initWeights,
  manifestFor,
  MlpTrainer,
  switchBackend,
} from '../src/model/index.js';
import { createRng } from '../src/rng/index.js';
import type { FlatWeights } from '../src/types/index.js';
import { synthetic, maxAbsDiff, train, test } from './helpers/trainer-fixtures.js';

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await switchBackend('wasm');
});

describe('MlpTrainer weights and prediction', () => {
  it('round-trips weights through getWeights/setWeights and returns copies', () => {
    const a = initWeights(DEFAULT_MLP, createRng(1));
    const b = initWeights(DEFAULT_MLP, createRng(2));
    const t = new MlpTrainer(DEFAULT_MLP, a);
    expect(t.getWeights().data).toEqual(a.data);
    expect(t.getWeights().manifest).toEqual(manifestFor(DEFAULT_MLP));
    t.setWeights(b);
    const got = t.getWeights();
    expect(got.data).toEqual(b.data);
    got.data.fill(0); // a copy: the trainer is unaffected
    expect(t.getWeights().data).toEqual(b.data);
    b.data[0] = 42; // and it copied its input too
    expect(t.getWeights().data[0]).not.toBe(42);
    t.dispose();
  });

  it('predicts the same in chunks as in one go, and probabilities in (0, 1)', () => {
    const t = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(1)));
    const whole = t.predict(test.features, test.numRows);
    const chunked = t.predict(test.features, test.numRows, 7);
    expect(whole).toHaveLength(test.numRows);
    expect(maxAbsDiff(whole, chunked)).toBeLessThan(1e-6);
    expect(whole.every((p) => p > 0 && p < 1)).toBe(true);
    expect(t.loss(test.features, test.labels, test.numRows)).toBeCloseTo(binaryCrossEntropy(whole, test.labels), 10);
    t.dispose();
  });

  it('follows setWeights in predict (no stale cached weights)', async () => {
    const a = initWeights(DEFAULT_MLP, createRng(1));
    const b = initWeights(DEFAULT_MLP, createRng(2));
    const ta = new MlpTrainer(DEFAULT_MLP, a);
    const tb = new MlpTrainer(DEFAULT_MLP, b);
    const pa = ta.predict(test.features, test.numRows);
    ta.setWeights(b);
    expect(ta.predict(test.features, test.numRows)).toEqual(tb.predict(test.features, test.numRows));
    await ta.train(train, { epochs: 1, batchSize: 256, learningRate: 0.01, rng: createRng(3) });
    expect(maxAbsDiff(ta.predict(test.features, test.numRows), pa)).toBeGreaterThan(1e-4);
    ta.dispose();
    tb.dispose();
  });

  it('predicts zero rows', () => {
    const t = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(1)));
    expect(t.predict(new Float32Array(0), 0)).toHaveLength(0);
    t.dispose();
  });
});

describe('MlpTrainer errors', () => {
  const spec = DEFAULT_MLP;
  const rng = () => createRng(1);

  it('rejects data with the wrong number of features', async () => {
    const t = new MlpTrainer(spec, initWeights(spec, rng()));
    const narrow = synthetic(1, 50, 29);
    await expect(t.train(narrow, { epochs: 1, batchSize: 10, learningRate: 0.01, rng: rng() })).rejects.toThrow(
      /29 features, the model expects 30/,
    );
    expect(() => t.predict(narrow.features, narrow.numRows)).toThrow(/expected 50×30 features/);
    expect(() => t.loss(narrow.features, narrow.labels, narrow.numRows)).toThrow(/expected 50×30/);
    t.dispose();
  });

  it('rejects inconsistent or empty data and bad options', async () => {
    const t = new MlpTrainer(spec, initWeights(spec, rng()));
    const ok = synthetic(1, 50);
    const opts = { epochs: 1, batchSize: 10, learningRate: 0.01, rng: rng() };
    await expect(
      t.train({ ...ok, numRows: 0, features: new Float32Array(0), labels: new Uint8Array(0) }, opts),
    ).rejects.toThrow(/empty/);
    await expect(t.train({ ...ok, numRows: 49 }, opts)).rejects.toThrow(/expected 49×30 features/);
    await expect(t.train(ok, { ...opts, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(t.train(ok, { ...opts, learningRate: 0 })).rejects.toThrow(/learningRate/);
    t.dispose();
  });

  it('rejects weights that do not fit the spec', () => {
    const good = initWeights(spec, rng());
    const short: FlatWeights = { data: good.data.subarray(1), manifest: good.manifest };
    expect(() => new MlpTrainer(spec, short)).toThrow(/4096 values, the model needs 4097/);
    const t = new MlpTrainer(spec, good);
    expect(() => t.setWeights(short)).toThrow(/the model needs 4097/);
    const other = initWeights({ ...spec, hidden: [16] }, rng());
    expect(() => t.setWeights(other)).toThrow();
    t.dispose();
  });

  it('reports divergence instead of returning NaN weights silently', async () => {
    const t = new MlpTrainer(spec, initWeights(spec, rng()));
    const bad = synthetic(1, 50);
    bad.features[3] = Number.NaN;
    await expect(t.train(bad, { epochs: 1, batchSize: 10, learningRate: 0.01, rng: rng() })).rejects.toThrow(
      /diverged/,
    );
    t.dispose();
  });

  it('refuses to work after dispose', async () => {
    const t = new MlpTrainer(spec, initWeights(spec, rng()));
    t.dispose();
    expect(() => t.predict(new Float32Array(30), 1)).toThrow(/disposed/);
    await expect(
      t.train(synthetic(1, 10), { epochs: 1, batchSize: 10, learningRate: 0.01, rng: rng() }),
    ).rejects.toThrow(/disposed/);
  });
});
