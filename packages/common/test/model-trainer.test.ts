/**
 * MlpTrainer: real training on small seeded synthetic data. The trainer's backward pass
 * and Adam are hand-written, so besides behaviour (loss goes down, a separable problem is
 * learnt, determinism, dropout) they are checked against TF.js autodiff with tf.train.adam on
 * the same data. Weights, prediction and errors: model-trainer-weights.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rocAucExact } from '../src/metrics/index.js';
import {
  DEFAULT_MLP,
  initBackend,
  initWeights,
  manifestFor,
  MlpTrainer,
  splitFlat,
  switchBackend,
  type MlpSpec,
} from '../src/model/index.js';
import { createRng } from '../src/rng/index.js';
import { setWasmKernelsEnabled } from '../src/kernels/index.js';
import type { FlatWeights } from '../src/types/index.js';
import { type Data, synthetic, maxAbsDiff, train, test } from './helpers/trainer-fixtures.js';

/**
 * Reference: the same model with TF.js autodiff (tf.variableGrads via minimize) and
 * tf.train.adam, full-batch steps, no dropout.
 */
function referenceTraining(spec: MlpSpec, initial: FlatWeights, data: Data, steps: number, lr: number): Float32Array {
  const manifest = manifestFor(spec);
  const parts = splitFlat(initial);
  const vars = manifest.map((t, i) => tf.variable(tf.tensor(parts[i]!, t.shape, 'float32')));
  const x = tf.tensor2d(data.features, [data.numRows, data.numFeatures]);
  const y = tf.tensor2d(Float32Array.from(data.labels), [data.numRows, 1]);
  const opt = tf.train.adam(lr);
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      opt.minimize(
        () => {
          let h: tf.Tensor2D = x;
          for (let l = 0; l < vars.length / 2; l++) {
            h = tf.add(tf.matMul(h, vars[2 * l] as tf.Tensor2D), vars[2 * l + 1]!);
            if (l < vars.length / 2 - 1) h = tf.relu(h);
          }
          return tf.losses.sigmoidCrossEntropy(y, h) as tf.Scalar;
        },
        false,
        vars,
      );
    });
  }
  const out = new Float32Array(initial.data.length);
  let offset = 0;
  for (const v of vars) {
    const values = v.dataSync() as Float32Array;
    out.set(values, offset);
    offset += values.length;
  }
  [...vars, x, y].forEach((t) => t.dispose());
  opt.dispose();
  return out;
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await switchBackend('wasm');
});

describe('MlpTrainer training', () => {
  it('lowers the loss and learns a separable problem (AUC > 0.9)', async () => {
    const trainer = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(7)));
    const before = trainer.loss(test.features, test.labels, test.numRows);
    const epochLosses: number[] = [];
    const result = await trainer.train(train, {
      epochs: 8,
      batchSize: 64,
      learningRate: 0.005,
      rng: createRng(8),
      onEpoch: (_, loss) => {
        epochLosses.push(loss);
      },
    });
    expect(epochLosses).toHaveLength(8);
    expect(result.loss).toBe(epochLosses[7]);
    expect(result.samples).toBe(8 * train.numRows);
    expect(epochLosses[7]!).toBeLessThan(epochLosses[0]! * 0.6);
    const after = trainer.loss(test.features, test.labels, test.numRows);
    expect(after).toBeLessThan(before * 0.5);
    const auc = rocAucExact(trainer.predict(test.features, test.numRows), test.labels);
    expect(auc).toBeGreaterThan(0.9);
    trainer.dispose();
  });

  it('is deterministic for the same seed and differs for another seed', async () => {
    const init = initWeights(DEFAULT_MLP, createRng(3));
    const run = async (seed: number) => {
      const t = new MlpTrainer(DEFAULT_MLP, init);
      const r = await t.train(train, { epochs: 2, batchSize: 100, learningRate: 0.01, rng: createRng(seed) });
      const w = t.getWeights().data;
      t.dispose();
      return { loss: r.loss, w };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(b.loss).toBe(a.loss);
    expect(b.w).toEqual(a.w);
    expect(maxAbsDiff(a.w, c.w)).toBeGreaterThan(1e-4);
  });

  it('matches TF.js autodiff + tf.train.adam step for step (full batch, no dropout)', async () => {
    const spec: MlpSpec = { ...DEFAULT_MLP, dropout: 0 };
    const data = synthetic(4, 300);
    const init = initWeights(spec, createRng(5));
    for (const steps of [1, 25]) {
      const trainer = new MlpTrainer(spec, init);
      await trainer.train(data, { epochs: steps, batchSize: data.numRows, learningRate: 0.01, rng: createRng(6) });
      const ours = trainer.getWeights().data;
      const ref = referenceTraining(spec, init, data, steps, 0.01);
      // Adam moves each weight by at most ~lr per step; agreement to 1e-4 means the
      // gradients agree in sign and (over 25 steps, through Adam's moments) in ratio.
      expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-4);
      expect(maxAbsDiff(ours, init.data)).toBeGreaterThan(0.005);
      trainer.dispose();
    }
  });

  it('matches TF.js autodiff for other layer layouts (1 and 3 hidden layers)', async () => {
    for (const hidden of [[8], [16, 8, 4]]) {
      const spec: MlpSpec = { inputSize: 30, hidden, dropout: 0 };
      const data = synthetic(4, 200);
      const init = initWeights(spec, createRng(5));
      const trainer = new MlpTrainer(spec, init);
      await trainer.train(data, { epochs: 10, batchSize: data.numRows, learningRate: 0.01, rng: createRng(6) });
      const ref = referenceTraining(spec, init, data, 10, 0.01);
      expect(maxAbsDiff(trainer.getWeights().data, ref)).toBeLessThan(1e-4);
      trainer.dispose();
    }
  });

  it('runs the dropout code path with the same gradients when nothing is dropped', async () => {
    // dropout 1e-9: every mask is 1 (a drop has probability 1e-9 per unit) and the 1/keep
    // scale is 1 to float precision, so the masked path must reproduce plain autodiff.
    const spec: MlpSpec = { ...DEFAULT_MLP, dropout: 1e-9 };
    const data = synthetic(4, 300);
    const init = initWeights(spec, createRng(5));
    const trainer = new MlpTrainer(spec, init);
    await trainer.train(data, { epochs: 10, batchSize: data.numRows, learningRate: 0.01, rng: createRng(6) });
    const ref = referenceTraining({ ...spec, dropout: 0 }, init, data, 10, 0.01);
    expect(maxAbsDiff(trainer.getWeights().data, ref)).toBeLessThan(1e-4);
    trainer.dispose();
  });

  it('scales kept units by 1/keep in training (inverted dropout): training loss matches a Monte-Carlo estimate', async () => {
    // Hand-made weights whose logit is 4·relu(x0) times the dropout noise of both hidden
    // layers: every first-layer unit is relu(x0), every second-layer unit the mean of the
    // first layer, the output 4 × the mean of the second. With inverted dropout the
    // expected logit is 4·relu(x0); without the 1/keep scaling it would be keep² = ¼ of
    // that, with keep instead of 1/keep 1/16. All labels are 1, so the loss (softplus of
    // −logit) is very sensitive to the scale. Weights are frozen (learning rate 1e-9) and
    // the mean training loss the trainer reports must match E_masks[BCE] estimated by a
    // plain-JS forward pass with its own masks.
    const spec: MlpSpec = { ...DEFAULT_MLP, dropout: 0.5 };
    const weights = initWeights(spec, createRng(1));
    const [w1, b1, w2, b2, w3, b3] = splitFlat(weights);
    w1!.fill(0);
    for (let o = 0; o < 64; o++) w1![o] = 1; // row 0: feature 0 → every unit
    w2!.fill(1 / 64);
    w3!.fill(4 / 32);
    [b1, b2, b3].forEach((b) => b!.fill(0));
    const data = { ...train, labels: new Uint8Array(train.numRows).fill(1) };
    const t = new MlpTrainer(spec, weights);
    const r = await t.train(data, { epochs: 4, batchSize: 500, learningRate: 1e-9, rng: createRng(23) });
    t.dispose();

    const layers = splitFlat(weights);
    const sizes = [spec.inputSize, ...spec.hidden, 1];
    const mc = createRng(24);
    const draws = 4;
    let loss = 0;
    for (let k = 0; k < draws; k++) {
      for (let row = 0; row < data.numRows; row++) {
        let h = Array.from(data.features.subarray(row * 30, row * 30 + 30));
        for (let l = 0; l < sizes.length - 1; l++) {
          const [w, b] = [layers[2 * l]!, layers[2 * l + 1]!];
          const out = Array.from(b);
          for (let i = 0; i < sizes[l]!; i++)
            for (let o = 0; o < sizes[l + 1]!; o++) out[o]! += h[i]! * w[i * sizes[l + 1]! + o]!;
          h = l < sizes.length - 2 ? out.map((v) => (v > 0 && mc.next() < 0.5 ? v / 0.5 : 0)) : out;
        }
        const z = h[0]!;
        loss += Math.max(z, 0) - z + Math.log1p(Math.exp(-Math.abs(z)));
      }
    }
    loss /= draws * data.numRows;
    // Correct scaling: ≈ 0.45 both ways; ¼ of the logit gives ≈ 0.55, 1/16 ≈ 0.65.
    expect(Math.abs(r.loss - loss)).toBeLessThan(0.02);
  });

  it('applies inverted dropout: a model trained with dropout 0.5 stays calibrated without it', async () => {
    // If the 1/keep scaling were missing or inverted, inference (no dropout) would see
    // pre-activations 2× or 4× those seen in training and its mean score would drift far
    // from the positive rate.
    const spec: MlpSpec = { ...DEFAULT_MLP, dropout: 0.5 };
    const trainer = new MlpTrainer(spec, initWeights(spec, createRng(9)));
    await trainer.train(train, { epochs: 15, batchSize: 64, learningRate: 0.003, rng: createRng(10) });
    const probs = trainer.predict(train.features, train.numRows);
    const meanProb = probs.reduce((a, b) => a + b, 0) / probs.length;
    const rate = train.labels.reduce((a, b) => a + b, 0) / train.numRows;
    expect(Math.abs(meanProb - rate)).toBeLessThan(0.06);
    expect(rocAucExact(trainer.predict(test.features, test.numRows), test.labels)).toBeGreaterThan(0.9);
    trainer.dispose();
  });

  it('gives the same result on the cpu backend as on wasm (to float tolerance)', async () => {
    const data = synthetic(4, 300);
    const init = initWeights(DEFAULT_MLP, createRng(5));
    const run = async () => {
      const t = new MlpTrainer(DEFAULT_MLP, init);
      const r = await t.train(data, { epochs: 3, batchSize: 64, learningRate: 0.01, rng: createRng(6) });
      const w = t.getWeights().data;
      t.dispose();
      return { loss: r.loss, w };
    };
    const wasm = await run();
    await switchBackend('cpu');
    try {
      const cpu = await run();
      expect(cpu.loss).toBeCloseTo(wasm.loss, 4);
      expect(maxAbsDiff(cpu.w, wasm.w)).toBeLessThan(1e-3);
    } finally {
      await switchBackend('wasm');
    }
  });

  it('resets Adam on setWeights and keeps it across train calls', async () => {
    const init = initWeights(DEFAULT_MLP, createRng(3));
    const opts = () => ({ epochs: 1, batchSize: 200, learningRate: 0.01, rng: createRng(4) });
    const a = new MlpTrainer(DEFAULT_MLP, init);
    await a.train(train, opts());
    a.setWeights(init); // fresh round: same weights, fresh optimizer
    await a.train(train, opts());
    const b = new MlpTrainer(DEFAULT_MLP, init);
    await b.train(train, opts());
    expect(a.getWeights().data).toEqual(b.getWeights().data);
    // Without the reset, the second call continues with the first call's moments.
    const c = new MlpTrainer(DEFAULT_MLP, init);
    await c.train(train, opts());
    const mid = c.getWeights();
    await c.train(train, opts());
    const d = new MlpTrainer(DEFAULT_MLP, mid);
    await d.train(train, opts());
    expect(maxAbsDiff(c.getWeights().data, d.getWeights().data)).toBeGreaterThan(1e-6);
    [a, b, c, d].forEach((t) => t.dispose());
  });

  it('calls onBatch every yieldEvery batches', async () => {
    const t = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(1)));
    let calls = 0;
    // 2000 rows / 100 = 20 batches per epoch, 2 epochs = 40 batches, every 8th → 5 calls.
    await t.train(train, {
      epochs: 2,
      batchSize: 100,
      learningRate: 0.01,
      rng: createRng(2),
      yieldEvery: 8,
      onBatch: async () => {
        calls++;
        await new Promise((r) => setImmediate(r));
      },
    });
    expect(calls).toBe(5);
    t.dispose();
  });

  it.each(['setWeights', 'dispose'] as const)(
    'stops with a clear error when %s runs during training (no step with stale moments)',
    async (reset) => {
      const t = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(1)));
      const fresh = initWeights(DEFAULT_MLP, createRng(9));
      let calls = 0;
      const run = t.train(train, {
        epochs: 1,
        batchSize: 100,
        learningRate: 0.01,
        rng: createRng(2),
        yieldEvery: 4,
        onBatch: () => {
          if (++calls === 2) {
            if (reset === 'setWeights') t.setWeights(fresh);
            else t.dispose();
          }
        },
      });
      await expect(run).rejects.toThrow(/reset \(setWeights\) or disposed during training/);
      expect(calls).toBe(2);
      if (reset === 'setWeights') expect(t.getWeights().data).toEqual(fresh.data);
      t.dispose();
    },
  );

  it.each([
    ['the wasm kernel', true, 0],
    ['TF.js (kernels off)', false, 6],
  ])('does not leak tensors while training and predicting with %s', async (_, kernels, cached) => {
    const previous = setWasmKernelsEnabled(kernels);
    try {
      const t = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(1)));
      t.predict(test.features, test.numRows); // builds the cached inference weights (TF.js: 3 kernels, 3 biases)
      const before = tf.memory().numTensors;
      await t.train(train, { epochs: 1, batchSize: 128, learningRate: 0.01, rng: createRng(2) });
      t.predict(test.features, test.numRows, 100);
      expect(tf.memory().numTensors).toBe(before);
      t.dispose();
      expect(tf.memory().numTensors).toBe(before - cached);
    } finally {
      setWasmKernelsEnabled(previous);
    }
  });
});
