/**
 * Reference training loops the training benchmark compares MlpTrainer with, on the same
 * data and machine in the same run:
 *
 * - `AutodiffTrainer`: the previous MlpTrainer (until the hand-written backward pass):
 *   tf.Variables, `optimizer.minimize` over TF.js autodiff with `tf.train.adam`, tf.dropout
 *   and tf.losses.sigmoidCrossEntropy, one tf.tidy per batch, loss summed on the device.
 *   Kept verbatim (training part only) so "before" figures can be re-measured.
 * - `fitLayersModel`: plain `tf.LayersModel.fit` of the equivalent Keras-style model.
 * - `runKeras`: Keras on native TensorFlow (all cores), in a Python child process running
 *   the committed script packages/common/docs/keras-training-reference.py on the same rows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildLayersModel, manifestFor, splitFlat, type MlpSpec } from '@finsecure/common/model';
import type { FlatWeights } from '@finsecure/common';
import type { TrainingData, TrainOptions, TrainResult } from '@finsecure/common/model';
import { BENCH_DIR } from './lib.js';

export class AutodiffTrainer {
  private readonly vars: tf.Variable[];
  private optimizer: tf.Optimizer | null = null;

  constructor(
    private readonly spec: MlpSpec,
    initial: FlatWeights,
  ) {
    const parts = splitFlat(initial);
    this.vars = manifestFor(spec).map((t, i) => tf.variable(tf.tensor(parts[i]!, t.shape, 'float32'), true));
  }

  private logits(x: tf.Tensor2D, seed: number): tf.Tensor2D {
    let h: tf.Tensor2D = x;
    const layers = this.vars.length / 2;
    for (let l = 0; l < layers; l++) {
      const hidden = l < layers - 1;
      h = tf.fused.matMul({
        a: h,
        b: this.vars[2 * l] as tf.Variable<tf.Rank.R2>,
        bias: this.vars[2 * l + 1],
        activation: hidden ? 'relu' : 'linear',
      }) as tf.Tensor2D;
      if (hidden && this.spec.dropout > 0) h = tf.dropout(h, this.spec.dropout, undefined, seed) as tf.Tensor2D;
    }
    return h;
  }

  async train(data: TrainingData, opts: TrainOptions): Promise<TrainResult> {
    this.optimizer ??= tf.train.adam(opts.learningRate);
    const optimizer = this.optimizer;
    const start = performance.now();
    const d = data.numFeatures;
    const n = data.numRows;
    const bs = Math.min(opts.batchSize, n);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const xBuf = new Float32Array(bs * d);
    const yBuf = new Float32Array(bs);
    let lastLoss = NaN;
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = opts.rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      let lossSum = tf.scalar(0);
      let batches = 0;
      for (let startRow = 0; startRow < n; startRow += bs) {
        const rows = Math.min(bs, n - startRow);
        for (let r = 0; r < rows; r++) {
          const src = order[startRow + r]!;
          xBuf.set(data.features.subarray(src * d, src * d + d), r * d);
          yBuf[r] = data.labels[src]!;
        }
        const seed = opts.rng.int(2 ** 31);
        const cost = tf.tidy(() => {
          const x = tf.tensor2d(xBuf.subarray(0, rows * d), [rows, d]);
          const y = tf.tensor2d(yBuf.subarray(0, rows), [rows, 1]);
          return optimizer.minimize(
            () => tf.losses.sigmoidCrossEntropy(y, this.logits(x, seed)) as tf.Scalar,
            true,
            this.vars,
          )!;
        });
        const next = tf.add(lossSum, cost);
        lossSum.dispose();
        cost.dispose();
        lossSum = next as tf.Scalar;
        batches++;
      }
      lastLoss = (await lossSum.data())[0]! / batches;
      lossSum.dispose();
    }
    return { loss: lastLoss, samples: n * opts.epochs, ms: performance.now() - start };
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.vars.forEach((v) => v.dispose());
  }
}

/** `model.fit` on one big tensor, shuffled by TF.js, no validation, no callbacks. */
export class LayersFitTrainer {
  private readonly model: tfl.Sequential;
  private compiled = false;

  constructor(spec: MlpSpec, initial: FlatWeights) {
    this.model = buildLayersModel(spec);
    const parts = splitFlat(initial);
    this.model.setWeights(manifestFor(spec).map((t, i) => tf.tensor(parts[i]!, t.shape, 'float32')));
  }

  async train(data: TrainingData, opts: TrainOptions): Promise<TrainResult> {
    if (!this.compiled) {
      this.model.compile({ optimizer: tf.train.adam(opts.learningRate), loss: 'binaryCrossentropy' });
      this.compiled = true;
    }
    const x = tf.tensor2d(data.features, [data.numRows, data.numFeatures]);
    const y = tf.tensor2d(Float32Array.from(data.labels), [data.numRows, 1]);
    const start = performance.now();
    const h = await this.model.fit(x, y, { batchSize: opts.batchSize, epochs: opts.epochs, shuffle: true, verbose: 0 });
    const ms = performance.now() - start;
    x.dispose();
    y.dispose();
    const losses = h.history.loss as number[];
    return { loss: losses[losses.length - 1]!, samples: data.numRows * opts.epochs, ms };
  }

  dispose(): void {
    this.model.dispose();
  }
}

// ---------------------------------------------------------------- Keras on native TensorFlow

/** What packages/common/docs/keras-training-reference.py prints. */
export interface KerasFigures {
  tensorflow: string;
  keras: string;
  threads: { intraOp: number; interOp: number; cpus: number };
  training: { batchSize: number; samplesPerSecond: number; seconds: number; loss: number }[];
  predict?: { rows: number; call: number; predictOnBatch: number };
}

export const KERAS_SCRIPT = path.join(BENCH_DIR, '..', 'packages', 'common', 'docs', 'keras-training-reference.py');

/**
 * The Python to run the Keras reference with: $FINSECURE_PYTHON, else `python3`. Returns
 * the interpreter, or why it cannot be used (missing, or no tensorflow module), so that
 * the benchmark can skip the Keras column with a clear note instead of failing.
 */
export function findKerasPython(): { python: string } | { error: string } {
  const python = process.env.FINSECURE_PYTHON || 'python3';
  const r = spawnSync(python, ['-c', 'import tensorflow as tf; print(tf.__version__)'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  if (r.error) return { error: `${python} not available (${r.error.message})` };
  if (r.status !== 0) {
    return {
      error:
        `${python} has no tensorflow (${(r.stderr || '').trim().split('\n').pop()}); install it from the local pip ` +
        `mirror into a venv (python3 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu) and set FINSECURE_PYTHON=/tmp/tf/bin/python`,
    };
  }
  return { python };
}

/** Writes the data as raw files and runs one Keras measurement process (training at each batch size, then prediction). */
export function runKeras(
  python: string,
  data: TrainingData,
  predict: { features: Float32Array; rows: number },
  batchSizes: number[],
  epochs: number,
): KerasFigures | string {
  const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-keras-'));
  try {
    const f = path.join(dir, 'features.bin');
    const y = path.join(dir, 'labels.bin');
    const p = path.join(dir, 'predict.bin');
    writeFileSync(f, new Uint8Array(data.features.buffer, data.features.byteOffset, data.features.byteLength));
    writeFileSync(y, data.labels);
    writeFileSync(
      p,
      new Uint8Array(predict.features.buffer, predict.features.byteOffset, predict.rows * data.numFeatures * 4),
    );
    const args = [
      KERAS_SCRIPT,
      ...['--features', f, '--labels', y, '--rows', String(data.numRows), '--cols', String(data.numFeatures)],
      ...['--batch-sizes', batchSizes.join(','), '--epochs', String(epochs)],
      ...['--predict-features', p, '--predict-rows', String(predict.rows)],
    ];
    const r = spawnSync(python, args, {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    if (r.status !== 0)
      return `${path.basename(KERAS_SCRIPT)} failed: ${(r.stderr || r.error?.message || '').trim().slice(-300)}`;
    return JSON.parse(r.stdout) as KerasFigures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
