/**
 * MlpTrainer on several threads (workers > 1): real worker threads, each its own TF.js
 * wasm backend, started from the TypeScript sources (the worker entry is loaded through
 * tsx here, from dist/ in production). Checked: synchronous gradient averaging equals the
 * one-core step (without dropout, to float rounding), determinism for a seed, AUPRC
 * within the one-core trainer's seed-to-seed spread, parallel prediction equal to
 * one-core prediction, the small-job fallback to one core, and bad options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auprcExact } from '../src/metrics/index.js';
import {
  DEFAULT_MLP,
  initBackend,
  initWeights,
  MlpTrainer,
  switchBackend,
  type MlpSpec,
  type TrainingData,
} from '../src/model/index.js';
import { createRng } from '../src/rng/index.js';
import { linearSynthetic } from './helpers/linear-synthetic.js';

/** Gaussian features; label from a noisy linear rule with a high threshold (≈ 6 % positives). */
function synthetic(seed: number, numRows: number, numFeatures = 30): TrainingData {
  return linearSynthetic(seed, numRows, numFeatures, 0.6, 1.7);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const train = synthetic(1, 6000);
const test = synthetic(2, 4000);
/** Every job in these tests is small: force the parallel path for it. */
const PARALLEL = { workers: 2, minParallelSamples: 0, minShardRows: 32 };

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await switchBackend('wasm');
});

describe('MlpTrainer with worker threads', () => {
  it('starts its worker from the sources and computes the same Adam steps as one core (no dropout)', async () => {
    const spec: MlpSpec = { ...DEFAULT_MLP, dropout: 0 };
    const init = initWeights(spec, createRng(5));
    const opts = () => ({ epochs: 3, batchSize: 256, learningRate: 0.005, rng: createRng(6) });
    const one = new MlpTrainer(spec, init);
    const two = new MlpTrainer(spec, init, PARALLEL);
    expect(await two.startWorkers()).toBe(2);
    const r1 = await one.train(train, opts());
    const r2 = await two.train(train, opts());
    expect(r1.threads).toBe(1);
    expect(r2.threads).toBe(2);
    // Same batches, same Adam; only the order of float additions differs (shard sums).
    expect(Math.abs(r1.loss - r2.loss)).toBeLessThan(1e-5);
    const w1 = one.getWeights().data;
    const w2 = two.getWeights().data;
    expect(maxAbsDiff(w1, w2)).toBeLessThan(1e-4);
    expect(maxAbsDiff(w1, init.data)).toBeGreaterThan(0.01); // it did train
    one.dispose();
    await two.disposeAsync();
  });

  it('is deterministic for a seed with dropout, and a seed changes the result', async () => {
    const init = initWeights(DEFAULT_MLP, createRng(3));
    // One trainer (one worker start); setWeights resets Adam, so each run starts afresh.
    const t = new MlpTrainer(DEFAULT_MLP, init, PARALLEL);
    const run = async (seed: number) => {
      t.setWeights(init);
      const r = await t.train(train, { epochs: 2, batchSize: 200, learningRate: 0.01, rng: createRng(seed) });
      expect(r.threads).toBe(2);
      return { loss: r.loss, w: t.getWeights().data };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    await t.disposeAsync();
    expect(b.loss).toBe(a.loss);
    expect(b.w).toEqual(a.w);
    expect(maxAbsDiff(a.w, c.w)).toBeGreaterThan(1e-4);
  });

  it('reaches the AUPRC of the one-core trainer within its seed-to-seed spread (dropout 0.2)', async () => {
    const seeds = [1, 2, 3, 4, 5];
    const auprc = { one: [] as number[], two: [] as number[] };
    // One trainer per thread count, reset per seed: setWeights also resets Adam, so each
    // seed trains exactly as a fresh trainer would (and the worker starts only once).
    const zero = initWeights(DEFAULT_MLP, createRng(1));
    const one = new MlpTrainer(DEFAULT_MLP, zero);
    const two = new MlpTrainer(DEFAULT_MLP, zero, PARALLEL);
    for (const seed of seeds) {
      for (const t of [one, two]) {
        t.setWeights(initWeights(DEFAULT_MLP, createRng(100 + seed)));
        const r = await t.train(train, { epochs: 6, batchSize: 256, learningRate: 0.003, rng: createRng(200 + seed) });
        expect(r.threads).toBe(t.workers);
        (t === one ? auprc.one : auprc.two).push(auprcExact(t.predict(test.features, test.numRows), test.labels));
      }
    }
    await Promise.all([one.disposeAsync(), two.disposeAsync()]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
    // The problem is learnable but not trivial (a failed trainer would sit near 0.06).
    expect(mean(auprc.one)).toBeGreaterThan(0.5);
    // Means differ by less than twice the one-core spread (floor 0.01: the spread of five
    // seeds can be tiny), and every two-core run lies within the one-core range ± 0.02.
    expect(Math.abs(mean(auprc.two) - mean(auprc.one))).toBeLessThan(Math.max(0.01, 2 * sd(auprc.one)));
    for (const a of auprc.two) {
      expect(a).toBeGreaterThan(Math.min(...auprc.one) - 0.02);
      expect(a).toBeLessThan(Math.max(...auprc.one) + 0.02);
    }
  });

  it('predicts on both threads the same probabilities and logits as on one', async () => {
    const big = synthetic(7, 40_000);
    const init = initWeights(DEFAULT_MLP, createRng(8));
    const one = new MlpTrainer(DEFAULT_MLP, init);
    const two = new MlpTrainer(DEFAULT_MLP, init, PARALLEL);
    await two.startWorkers();
    const a = one.predictWithLogits(big.features, big.numRows);
    const b = two.predictWithLogits(big.features, big.numRows);
    expect(maxAbsDiff(a.probabilities, b.probabilities)).toBeLessThan(1e-6);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
    // Weights changed by training reach the workers too.
    await two.train(train, { epochs: 1, batchSize: 256, learningRate: 0.01, rng: createRng(1) });
    one.setWeights(two.getWeights());
    expect(maxAbsDiff(one.predict(big.features, big.numRows), two.predict(big.features, big.numRows))).toBeLessThan(
      1e-6,
    );
    one.dispose();
    await two.disposeAsync();
  });

  it('keeps small jobs on one core without starting workers', async () => {
    const init = initWeights(DEFAULT_MLP, createRng(3));
    const opts = () => ({ epochs: 1, batchSize: 256, learningRate: 0.01, rng: createRng(4) });
    const fallback = new MlpTrainer(DEFAULT_MLP, init, { workers: 2 }); // default threshold
    const one = new MlpTrainer(DEFAULT_MLP, init);
    const r = await fallback.train(train, opts());
    await one.train(train, opts());
    expect(r.threads).toBe(1);
    expect(fallback.getWeights().data).toEqual(one.getWeights().data); // exactly the one-core path
    // Batches too small to split stay on one core as well (default: 256-row shards).
    const tiny = new MlpTrainer(DEFAULT_MLP, init, { ...PARALLEL, minShardRows: undefined });
    expect((await tiny.train(train, { ...opts(), batchSize: 511 })).threads).toBe(1);
    expect((await tiny.train(train, { ...opts(), batchSize: 512 })).threads).toBe(2);
    await Promise.all([fallback.disposeAsync(), one.disposeAsync(), tiny.disposeAsync()]);
  });

  it('starts its worker from dist/ in plain Node (the production path)', () => {
    // The build output must carry parallel-worker.js next to the trainer; `npm test`
    // builds first (tsc -b), and this test says so when dist/ is missing.
    const dist = fileURLToPath(new URL('../dist/model/index.js', import.meta.url));
    expect(existsSync(dist), `${dist} missing: run tsc -b first`).toBe(true);
    const script = `
      const m = await import(${JSON.stringify(pathToFileURL(dist).href)});
      const { createRng } = await import(${JSON.stringify(pathToFileURL(dist.replace(/model[\\/]index\.js$/, 'rng/index.js')).href)});
      await m.initBackend('wasm');
      const spec = m.DEFAULT_MLP;
      const rows = 512, d = spec.inputSize;
      const features = new Float32Array(rows * d).map((_, i) => Math.sin(i));
      const labels = new Uint8Array(rows).map((_, i) => i % 7 === 0 ? 1 : 0);
      const t = new m.MlpTrainer(spec, m.initWeights(spec, createRng(1)), { workers: 2, minParallelSamples: 0, minShardRows: 32 });
      const r = await t.train({ features, labels, numRows: rows, numFeatures: d }, { epochs: 1, batchSize: 128, learningRate: 0.01, rng: createRng(2) });
      await t.disposeAsync();
      console.log(JSON.stringify({ threads: r.threads, loss: r.loss, error: t.workerError }));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(out.stderr).toBe('');
    const result = JSON.parse(out.stdout.trim()) as { threads: number; loss: number; error: string | null };
    expect(result.error).toBeNull();
    expect(result.threads).toBe(2);
    expect(Number.isFinite(result.loss)).toBe(true);
  });

  it('rejects bad worker counts and refuses work after dispose', async () => {
    const init = initWeights(DEFAULT_MLP, createRng(3));
    for (const workers of [0, 1.5, -1, 65]) {
      expect(() => new MlpTrainer(DEFAULT_MLP, init, { workers })).toThrow(/workers must be an integer in 1\.\.64/);
    }
    const t = new MlpTrainer(DEFAULT_MLP, init, PARALLEL);
    await t.startWorkers();
    await t.disposeAsync();
    await expect(t.train(train, { epochs: 1, batchSize: 256, learningRate: 0.01, rng: createRng(1) })).rejects.toThrow(
      /disposed/,
    );
  });
});
