/**
 * Local training and scoring of the MLP: a hand-written forward and backward pass, with the
 * optimiser (Adam, adam.ts) in plain JavaScript. Each batch runs on the WebAssembly SIMD kernels
 * of wasm/dense.wat (kernel-gradient.ts; predictions: forward.ts) where the runtime has
 * WebAssembly SIMD, else on TF.js kernels (step.ts, which also says why that path is written by
 * hand rather than with `tf.LayersModel.fit`); the two agree to float32 rounding. The kernels are
 * 2-3× the TF.js path on this model (bench/training.ts): at 4,097 parameters a TF.js step is
 * mostly kernel dispatch, tensor uploads and read-backs, which the kernels do not have.
 *
 * The mathematics is that of Keras: Adam (β1 0.9, β2 0.999, ε 1e-7), inverted dropout during
 * training only, mean binary cross-entropy on logits, batches in an order shuffled with the
 * caller's seeded RNG. The backward pass and the Adam steps are checked against TF.js autodiff
 * and `tf.train.adam` in test/model-trainer.test.ts. The master copy of the weights and Adam's
 * moments live in Float32Arrays.
 *
 * Several cores (`workers: k`): k − 1 worker threads compute contiguous shards of every batch
 * while the main thread computes the first; the shards' gradients (each of its summed loss /
 * batch rows) are added and one Adam step is taken on the main thread: synchronous data
 * parallelism, the same batches and the same update as on one core. Only the dropout masks
 * differ (drawn per shard from seeds derived from the batch's seed), so results are
 * deterministic for a given k. Hand-offs go through shared memory and Atomics
 * (parallel-pool.ts), a few µs per batch; predictions are shared the same way
 * (parallel-predict.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng/index.js';
import type { FlatWeights } from '../types/index.js';
import { checkWeights, manifestFor, validateSpec, type MlpSpec } from './mlp.js';
import { ParallelPool } from './parallel-pool.js';
import { shardRange } from './parallel-protocol.js';
import { createForward, type Forward } from './forward.js';
import { createBatchGradient } from './kernel-gradient.js';
import { adamStep, createAdam, type AdamState } from './adam.js';
import { predictParallel } from './parallel-predict.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  rng: Rng;
  /** Called after each epoch; return value ignored. Keep it cheap. */
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>;
  /**
   * Called every `yieldEvery` batches with the batches done so far and the total of all
   * epochs. The bank client awaits a macrotask here so that heartbeats and socket traffic
   * keep flowing during long local training, and draws its progress bar from the counts.
   */
  onBatch?: (done: number, total: number) => void | Promise<void>;
  yieldEvery?: number;
}

export interface TrainResult {
  /** Mean binary cross-entropy of the last epoch (with dropout active). */
  loss: number;
  samples: number;
  ms: number;
  /** Threads that trained (main thread + workers); MlpTrainer always sets it. */
  threads?: number;
}

/** Features and labels in the layout the trainer consumes (row-major). */
export interface TrainingData {
  features: Float32Array;
  labels: Uint8Array;
  numRows: number;
  numFeatures: number;
}

/**
 * Below this many samples per `train` call (rows × epochs) training stays on one core
 * when the worker threads are not running yet. Starting a worker takes ≈ 0.3 s here; on
 * the kernels one core trains ≈ 1 µs per sample and a second thread saves ≈ 25 % of it
 * (1.29–1.53× at batches of 512–4,096 rows, bench/RESULTS.md 2026-12-01), so the start-up
 * pays for itself from ≈ 1.2M samples. Once started (by a large job or startWorkers()),
 * the workers serve every later job whose batches can be split.
 */
export const DEFAULT_MIN_PARALLEL_SAMPLES = 1_200_000;
/** Rows per chunk in predict: one tensor per chunk; 32k rows measured ≥ 8k on two threads. */
export const DEFAULT_PREDICT_CHUNK_ROWS = 32_768;
/**
 * Batches are split only if every shard gets at least this many rows. Each thread pays
 * a fixed cost per batch step (the weights loaded into its kernel memory, the gradient
 * added on the main thread), and a hand-off that misses the other thread's spin costs a
 * futex wake-up (tens to hundreds of µs on this VM): measured on 2 cores with the
 * kernels, batch 256 (128-row shards) was no faster on two threads than on one, batches
 * of 512, 1,024 and 4,096 rows 1.29×, 1.38× and 1.53× (bench/RESULTS.md, 2026-12-01).
 */
export const DEFAULT_MIN_SHARD_ROWS = 256;
/** Predictions of fewer rows run on the main thread only. */
export const MIN_PARALLEL_PREDICT_ROWS = 16_384;

export interface TrainerOptions {
  /**
   * Threads that train and predict: 1 (default) is the main thread only; k > 1 adds
   * k − 1 worker threads, each its own TF.js wasm backend, that compute shards of every
   * batch (synchronous gradient averaging: same batches, same Adam step). Only on the
   * wasm backend; others (tensorflow is multi-threaded itself, cpu is too slow to gain)
   * stay on one thread. Dropout masks are drawn per shard, so results depend on k (and
   * are deterministic for a given k and seed).
   */
  workers?: number;
  /** Training jobs smaller than this start no workers (see DEFAULT_MIN_PARALLEL_SAMPLES). */
  minParallelSamples?: number;
  /** Batches whose shards would be smaller than this train on one thread (see DEFAULT_MIN_SHARD_ROWS). */
  minShardRows?: number;
}

export class MlpTrainer {
  readonly spec: MlpSpec;
  /** Threads requested (TrainerOptions.workers). */
  readonly workers: number;
  private readonly minParallelSamples: number;
  private readonly minShardRows: number;
  /** Master copy of the weights, in manifest order (kernel then bias, per layer). */
  private readonly params: Float32Array;
  private adam: AdamState | null = null;
  /** The inference pass (forward.ts), created at the first prediction; its weights are stale when false. */
  private inference: Forward | null = null;
  private inferenceCurrent = false;
  private pool: ParallelPool | null = null;
  /** Why the worker threads could not be started (training then stays on one core). */
  workerError: string | null = null;
  private poolStart: Promise<ParallelPool> | null = null;
  private disposed = false;

  constructor(spec: MlpSpec, initial: FlatWeights, options: TrainerOptions = {}) {
    this.spec = validateSpec(spec);
    checkWeights(spec, initial);
    const workers = options.workers ?? 1;
    if (!(Number.isInteger(workers) && workers >= 1 && workers <= 64))
      throw new Error(`workers must be an integer in 1..64, got ${workers}`);
    this.workers = workers;
    this.minParallelSamples = options.minParallelSamples ?? DEFAULT_MIN_PARALLEL_SAMPLES;
    this.minShardRows = Math.max(1, options.minShardRows ?? DEFAULT_MIN_SHARD_ROWS);
    this.params = Float32Array.from(initial.data);
  }

  /** Replaces all weights (e.g. with a new global model). Optimizer state is reset: FedAvg starts each round fresh. */
  setWeights(weights: FlatWeights): void {
    this.assertLive();
    checkWeights(this.spec, weights);
    this.params.set(weights.data);
    this.weightsChanged();
    this.adam = null;
  }

  getWeights(): FlatWeights {
    return { data: this.params.slice(), manifest: manifestFor(this.spec) };
  }

  /**
   * Starts the worker threads now (when `workers` > 1 and the backend is wasm) instead
   * of at the first large training job, so that predictions can use them too. Resolves
   * to the number of threads in use (1 when none were started). Errors starting them
   * reject; training would then stay on one core.
   */
  async startWorkers(): Promise<number> {
    this.assertLive();
    if (this.workers < 2 || tf.getBackend() !== 'wasm') return 1;
    this.poolStart ??= ParallelPool.start(this.spec, this.workers, this.params.length);
    try {
      this.pool = await this.poolStart;
    } catch (err) {
      this.poolStart = null;
      throw err;
    }
    if (this.disposed) await this.stopPool();
    return this.pool ? this.workers : 1;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this MlpTrainer has been disposed');
  }

  private weightsChanged(): void {
    this.inferenceCurrent = false;
  }

  /** The forward pass with the current weights. */
  private inferencePass(): Forward {
    this.inference ??= createForward(this.spec);
    if (!this.inferenceCurrent) {
      this.inference.setWeights(this.params);
      this.inferenceCurrent = true;
    }
    return this.inference;
  }

  /** The pool to train this job with, or null for one core (deterministic in the job's size). */
  private async poolFor(samples: number, batchRows: number): Promise<ParallelPool | null> {
    if (this.workers < 2 || tf.getBackend() !== 'wasm') return null;
    if (batchRows < this.minShardRows * this.workers) return null;
    if (!this.pool && samples < this.minParallelSamples) return null;
    if (this.workerError) return null;
    try {
      await this.startWorkers();
    } catch (err) {
      // Training goes on, on one core (TrainResult.threads says so); not retried, since
      // every attempt costs a start-up. startWorkers() still reports the error.
      this.workerError = (err as Error).message;
      return null;
    }
    return this.pool;
  }

  /**
   * Trains `epochs` epochs of mini-batches in an order shuffled with `opts.rng`, one Adam
   * step per batch. With workers, each batch is cut into contiguous shards (main thread
   * and workers), whose gradients are summed (each is of its summed loss / batch rows).
   */
  async train(data: TrainingData, opts: TrainOptions): Promise<TrainResult> {
    this.assertLive();
    if (data.numFeatures !== this.spec.inputSize) {
      throw new Error(`data has ${data.numFeatures} features, the model expects ${this.spec.inputSize}`);
    }
    if (data.numRows === 0) throw new Error('cannot train on an empty dataset');
    if (data.features.length !== data.numRows * data.numFeatures || data.labels.length !== data.numRows) {
      throw new Error(
        `expected ${data.numRows}×${data.numFeatures} features and ${data.numRows} labels, got ${data.features.length} and ${data.labels.length}`,
      );
    }
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (!(opts.learningRate > 0)) throw new Error(`learningRate must be positive, got ${opts.learningRate}`);
    if (!this.adam || this.adam.learningRate !== opts.learningRate)
      this.adam = createAdam(this.params.length, opts.learningRate);
    const adam = this.adam;
    const n = data.numRows;
    const bs = Math.min(opts.batchSize, n);
    const pool = await this.poolFor(n * opts.epochs, bs);
    const start = performance.now();
    const shards = pool ? pool.shards : 1;
    const order = pool ? pool.loadData(data.features, data.labels, n, bs) : new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const engine = createBatchGradient(this.spec, shardRange(bs, 0, shards)[1]);
    const grad = new Float32Array(this.params.length);
    const yieldEvery = opts.yieldEvery ?? 16;
    let lastLoss = NaN;
    let batchCount = 0;
    const totalBatches = opts.epochs * Math.ceil(n / bs);

    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      // Fisher-Yates with the caller's seeded RNG: reproducible batches.
      for (let i = n - 1; i > 0; i--) {
        const j = opts.rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      let lossSum = 0;
      let batches = 0;
      for (let startRow = 0; startRow < n; startRow += bs) {
        const rows = Math.min(bs, n - startRow);
        // One draw per batch from the caller's RNG seeds that batch's dropout masks
        // (shard s > 0 uses shardSeed(seed, s)).
        const seed = opts.rng.int(2 ** 31);
        if (pool) {
          pool.params.set(this.params);
          pool.beginBatch(startRow, rows, seed);
        }
        const own = shardRange(rows, 0, shards)[1];
        const { features, labels } = data;
        let loss = engine.compute(
          this.params,
          { features, labels, order, startRow, rows: own, seed, divisor: rows },
          grad,
        );
        if (pool) loss += pool.finishBatch(grad);
        lossSum += loss / rows;
        // setWeights() or dispose() during an await above reset the optimiser: stop, do not step stale moments.
        if (this.adam !== adam) throw new Error('the trainer was reset (setWeights) or disposed during training');
        adamStep(adam, this.params, grad);
        this.weightsChanged();
        batches++;
        batchCount++;
        if (opts.onBatch && batchCount % yieldEvery === 0) await opts.onBatch(batchCount, totalBatches);
      }
      lastLoss = lossSum / batches;
      if (!Number.isFinite(lastLoss)) throw new Error(`training diverged: loss is ${lastLoss} in epoch ${epoch + 1}`);
      // XNNPACK's fused ReLU clamps NaN to 0, so NaN weights (e.g. from a NaN feature) can
      // leave the loss finite: check the weights themselves (4,097 floats, microseconds).
      const bad = firstNonFiniteIndex(this.params);
      if (bad >= 0) {
        throw new Error(
          `training diverged: weight ${bad} is ${this.params[bad]} after epoch ${epoch + 1} (non-finite features?)`,
        );
      }
      await opts.onEpoch?.(epoch + 1, lastLoss);
    }
    return { loss: lastLoss, samples: n * opts.epochs, ms: performance.now() - start, threads: shards };
  }

  /**
   * Fraud probabilities for every row. Works in chunks built straight from the
   * Float32Array: predicting one huge tensor in small slices is quadratic on wasm.
   */
  predict(features: Float32Array, numRows: number, chunkRows = DEFAULT_PREDICT_CHUNK_ROWS): Float32Array {
    return this.forward(features, numRows, chunkRows, false).probabilities;
  }

  /**
   * Probabilities and the output logits z they are σ(z) of, from one forward pass. The
   * logits keep the model's ranking where float32 probabilities saturate (σ(z) is exactly
   * 1 for z ≳ 16.6): federated evaluation histograms them (metrics/layout.ts).
   */
  predictWithLogits(
    features: Float32Array,
    numRows: number,
    chunkRows = DEFAULT_PREDICT_CHUNK_ROWS,
  ): { probabilities: Float32Array; logits: Float32Array } {
    const out = this.forward(features, numRows, chunkRows, true);
    return { probabilities: out.probabilities, logits: out.logits! };
  }

  private forward(
    features: Float32Array,
    numRows: number,
    chunkRows: number,
    withLogits: boolean,
  ): { probabilities: Float32Array; logits: Float32Array | null } {
    this.assertLive();
    const d = this.spec.inputSize;
    if (features.length !== numRows * d)
      throw new Error(`expected ${numRows}×${d} features, got ${features.length} values`);
    const pass = this.inferencePass();
    const probabilities = new Float32Array(numRows);
    const logits = withLogits ? new Float32Array(numRows) : null;
    const pool = this.pool?.alive && numRows >= MIN_PARALLEL_PREDICT_ROWS ? this.pool : null;
    if (!pool) {
      pass.rows(features, 0, numRows, probabilities, logits, chunkRows);
      return { probabilities, logits };
    }
    predictParallel(pool, pass, this.params, features, numRows, d, chunkRows, probabilities, logits);
    return { probabilities, logits };
  }

  /** Mean binary cross-entropy without dropout (evaluation loss). */
  loss(features: Float32Array, labels: Uint8Array, numRows: number): number {
    return binaryCrossEntropy(this.predict(features, numRows), labels);
  }

  /**
   * Frees the inference tensors and stops the worker threads (without waiting for them
   * to exit; `await disposeAsync()` does).
   */
  dispose(): void {
    void this.disposeAsync();
  }

  async disposeAsync(): Promise<void> {
    this.weightsChanged();
    this.inference?.dispose();
    this.inference = null;
    this.adam = null;
    this.disposed = true;
    await this.stopPool();
  }

  private async stopPool(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.poolStart = null;
    await pool?.stop();
  }
}

function firstNonFiniteIndex(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/** Mean binary cross-entropy of probabilities against 0/1 labels (clipped like Keras, ε = 1e-7). */
export function binaryCrossEntropy(probs: Float32Array, labels: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const q = Math.min(Math.max(probs[i]!, 1e-7), 1 - 1e-7);
    sum += labels[i] ? -Math.log(q) : -Math.log(1 - q);
  }
  return probs.length ? sum / probs.length : 0;
}
