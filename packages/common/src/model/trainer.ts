/**
 * Local training and scoring of the MLP: a hand-written forward and backward pass over
 * TF.js kernels, with the optimiser (Adam) in plain JavaScript.
 *
 * Why not `tf.LayersModel.fit`, nor even `optimizer.minimize` over `tf.variableGrads`:
 * for a network this small (4,097 parameters), what a training step costs on the wasm
 * backend is mostly not arithmetic but the number of kernel launches and one slow path:
 *
 * - autodiff of `matMul` produces products with `transposeA`/`transposeB`, and the wasm
 *   backend only sends untransposed products to XNNPACK; transposed ones run a scalar
 *   C++ loop several times slower. Here every product is untransposed: transposed weights
 *   are built in JS (a few thousand floats), the transposed input batch (with a row of
 *   ones, which yields the first layer's bias gradient in the same product) is gathered
 *   in JS, and only the small `dZᵀ` of the middle layers goes through a Transpose kernel;
 * - `tf.train.adam` runs ~14 kernels per variable per step (84 for this model) plus
 *   scalar uploads; updating 4,097 floats in JS takes microseconds;
 * - the loss and its gradient w.r.t. the logits, `(σ(z) − y)/n`, are computed in JS from
 *   the logits (one n-float readback) instead of through ~15 autodiff kernels;
 * - dropout masks are 0/1 and come from an inlined seeded generator; the 1/keep scaling
 *   of inverted dropout is folded into the next layer's weights (W/keep), so that the
 *   backward ReLU-and-dropout mask of a hidden layer is simply step(h).
 *
 * About 19 kernels (plus free reshapes) run per batch instead of ~200 (counted with tf.profile). The mathematics is unchanged: Adam
 * (β1 0.9, β2 0.999, ε 1e-7, TF.js and Keras defaults), inverted dropout during
 * training only, mean binary cross-entropy on logits, batches in an order shuffled with
 * the caller's seeded RNG. The backward pass is checked against TF.js autodiff in
 * test/model-trainer.test.ts.
 *
 * The master copy of the weights and Adam's moments live in Float32Arrays; device
 * tensors are rebuilt from them each batch (they change every batch anyway) and cached
 * for inference.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng/index.js';
import type { FlatWeights } from '../types/index.js';
import { checkWeights, manifestFor, tensorSize, validateSpec, type MlpSpec } from './mlp.js';

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
}

/** Features and labels in the layout the trainer consumes (row-major). */
export interface TrainingData {
  features: Float32Array;
  labels: Uint8Array;
  numRows: number;
  numFeatures: number;
}

/** Adam's hyper-parameters: the TF.js / Keras defaults (`tf.train.adam(lr)`). */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

interface Layer {
  inSize: number;
  outSize: number;
  /** Offsets of the kernel ([inSize, outSize], row-major) and bias in the flat vector. */
  kernelAt: number;
  biasAt: number;
}

interface AdamState {
  learningRate: number;
  m: Float32Array;
  v: Float32Array;
  /** β1^t and β2^t after t steps (TF.js keeps the same running products). */
  beta1Power: number;
  beta2Power: number;
}

export class MlpTrainer {
  readonly spec: MlpSpec;
  /** Master copy of the weights, in manifest order (kernel then bias, per layer). */
  private readonly params: Float32Array;
  private readonly layers: Layer[];
  private adam: AdamState | null = null;
  /** Device copies of the weights for inference: [kernel, bias] per layer. */
  private inference: tf.Tensor[] | null = null;
  private disposed = false;

  constructor(spec: MlpSpec, initial: FlatWeights) {
    this.spec = validateSpec(spec);
    checkWeights(spec, initial);
    this.params = Float32Array.from(initial.data);
    const manifest = manifestFor(spec);
    this.layers = [];
    let offset = 0;
    for (let i = 0; i < manifest.length; i += 2) {
      const [inSize, outSize] = manifest[i]!.shape as [number, number];
      const kernelAt = offset;
      offset += inSize * outSize;
      this.layers.push({ inSize, outSize, kernelAt, biasAt: offset });
      offset += tensorSize(manifest[i + 1]!.shape);
    }
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

  private assertLive(): void {
    if (this.disposed) throw new Error('this MlpTrainer has been disposed');
  }

  private weightsChanged(): void {
    this.inference?.forEach((t) => t.dispose());
    this.inference = null;
  }

  private inferenceWeights(): tf.Tensor[] {
    if (!this.inference) {
      // Copies: on the cpu backend a tensor may alias the array it was built from.
      // tf.keep: predict() may be called inside a caller's tf.tidy.
      this.inference = this.layers.flatMap((l) => [
        tf.keep(tf.tensor2d(this.params.slice(l.kernelAt, l.kernelAt + l.inSize * l.outSize), [l.inSize, l.outSize])),
        tf.keep(tf.tensor1d(this.params.slice(l.biasAt, l.biasAt + l.outSize))),
      ]);
    }
    return this.inference;
  }

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
    if (!this.adam || this.adam.learningRate !== opts.learningRate) {
      this.adam = {
        learningRate: opts.learningRate,
        m: new Float32Array(this.params.length),
        v: new Float32Array(this.params.length),
        beta1Power: 1,
        beta2Power: 1,
      };
    }
    const start = performance.now();
    const d = data.numFeatures;
    const n = data.numRows;
    const bs = Math.min(opts.batchSize, n);
    const layers = this.layers;
    const numLayers = layers.length;
    const dropout = this.spec.dropout;
    const keep = 1 - dropout;
    // Hidden activations are multiplied by 0/1 masks; the 1/keep of inverted dropout is
    // applied to the weights that consume them (x·(m/keep)·W = (x·m)·(W/keep)).
    const inputScale = layers.map((_, l) => (l > 0 && dropout > 0 ? 1 / keep : 1));

    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    // Reused host buffers. Every tensor built from them is disposed before the next batch
    // rewrites them (on the cpu backend tensors alias these arrays).
    const xBuf = new Float32Array(bs * d);
    /** The batch transposed, plus a row of ones: [d + 1, rows]. */
    const xtBuf = new Float32Array((d + 1) * bs);
    const yBuf = new Float32Array(bs);
    const gBuf = new Float32Array(bs);
    const masks = layers.slice(0, -1).map((l) => new Float32Array(dropout > 0 ? bs * l.outSize : 0));
    const kernels = layers.map((l) => new Float32Array(l.inSize * l.outSize));
    const kernelsT = layers.map((l) => new Float32Array(l.inSize * l.outSize));
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
        gatherBatch(data.features, data.labels, d, order, startRow, rows, xBuf, xtBuf, yBuf);
        // One draw per batch from the caller's RNG seeds that batch's dropout masks.
        const seed = opts.rng.int(2 ** 31);
        if (dropout > 0) fillMasks(masks, layers, rows, keep, seed);
        for (let l = 0; l < numLayers; l++) {
          const { inSize, outSize, kernelAt } = layers[l]!;
          scaleAndTranspose(this.params, kernelAt, inSize, outSize, inputScale[l]!, kernels[l]!, kernelsT[l]!);
        }
        lossSum += tf.tidy(() =>
          this.gradients(rows, xBuf, xtBuf, yBuf, gBuf, masks, kernels, kernelsT, inputScale, grad),
        );
        this.adamStep(grad);
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
    return { loss: lastLoss, samples: n * opts.epochs, ms: performance.now() - start };
  }

  /**
   * Forward and backward pass of one batch (inside a tf.tidy). Writes the gradient of
   * the mean loss into `grad` (manifest layout) and returns the mean loss.
   */
  private gradients(
    rows: number,
    xBuf: Float32Array,
    xtBuf: Float32Array,
    yBuf: Float32Array,
    gBuf: Float32Array,
    masks: Float32Array[],
    kernels: Float32Array[],
    kernelsT: Float32Array[],
    inputScale: number[],
    grad: Float32Array,
  ): number {
    const layers = this.layers;
    const last = layers.length - 1;
    const d = this.spec.inputSize;
    const dropout = this.spec.dropout > 0;

    // Forward. inputs[l] is what layer l consumes: the batch, then masked activations.
    const x = tf.tensor2d(xBuf.subarray(0, rows * d), [rows, d]);
    const inputs: tf.Tensor2D[] = [x];
    let h: tf.Tensor2D = x;
    let logits: tf.Tensor2D = x;
    for (let l = 0; l <= last; l++) {
      const { inSize, outSize, biasAt } = layers[l]!;
      const w = tf.tensor2d(kernels[l]!, [inSize, outSize]);
      const b = tf.tensor1d(this.params.subarray(biasAt, biasAt + outSize));
      const z = tf.fused.matMul({ a: h, b: w, bias: b, activation: l < last ? 'relu' : 'linear' }) as tf.Tensor2D;
      if (l === last) {
        logits = z;
      } else {
        h = dropout ? tf.mul(z, tf.tensor2d(masks[l]!.subarray(0, rows * outSize), [rows, outSize])) : z;
        inputs.push(h);
      }
    }

    // Loss and dLoss/dlogits in JS, in float64: mean of max(z,0) − z·y + log(1 + e^−|z|)
    // (the stable form TF.js' sigmoidCrossEntropy uses), gradient (σ(z) − y) / rows.
    const z = logits.dataSync() as Float32Array;
    let loss = 0;
    let biasGrad = 0;
    for (let r = 0; r < rows; r++) {
      const zr = z[r]!;
      const y = yBuf[r]!;
      const e = Math.exp(-Math.abs(zr));
      loss += Math.max(zr, 0) - zr * y + Math.log1p(e);
      const sigma = zr >= 0 ? 1 / (1 + e) : e / (1 + e);
      const g = (sigma - y) / rows;
      gBuf[r] = g;
      biasGrad += g;
    }

    // Backward, from the output layer down. Every product is untransposed (fast path).
    let dz = tf.tensor2d(gBuf.subarray(0, rows), [rows, 1]);
    for (let l = last; l >= 1; l--) {
      const { inSize, outSize, kernelAt, biasAt } = layers[l]!;
      const a = inputs[l]!;
      // dZᵀ: for the output layer (always one unit, see manifestFor) the [rows, 1]
      // vector is already a [1, rows] row, and its bias gradient was summed in JS.
      const dzT = l === last ? tf.tensor2d(gBuf.subarray(0, rows), [1, rows]) : tf.transpose(dz);
      // dWᵀ = dZᵀ·A  ([out, in]); the forward pass used W·s, so dW = s·(dWᵀ)ᵀ.
      const dWt = tf.matMul(dzT, a).dataSync() as Float32Array;
      const s = inputScale[l]!;
      for (let o = 0; o < outSize; o++) {
        for (let i = 0; i < inSize; i++) grad[kernelAt + i * outSize + o] = s * dWt[o * inSize + i]!;
      }
      if (l === last) {
        grad[biasAt] = biasGrad;
      } else {
        grad.set(tf.sum(dzT, 1).dataSync() as Float32Array, biasAt);
      }
      // dA = dZ·(W·s)ᵀ, then through dropout and ReLU: h = relu(·)·mask > 0 exactly
      // where the gradient passes, so the mask is step(h).
      const dA = tf.matMul(dz, tf.tensor2d(kernelsT[l]!, [outSize, inSize]));
      dz = tf.mul(dA, tf.step(a));
    }
    // First layer: [xᵀ; 1]·dZ = [dW; db] in one product.
    const { inSize, outSize, kernelAt } = layers[0]!;
    const xt = tf.tensor2d(xtBuf.subarray(0, (d + 1) * rows), [d + 1, rows]);
    const dWb = tf.matMul(xt, dz).dataSync() as Float32Array;
    // Layout matches the flat vector: kernel [in, out] then bias [out] right after it.
    grad.set(dWb.subarray(0, (inSize + 1) * outSize), kernelAt);
    return loss / rows;
  }

  /** One Adam step on the master weights (same update as tf.train.adam). */
  private adamStep(grad: Float32Array): void {
    const st = this.adam!;
    st.beta1Power *= BETA1;
    st.beta2Power *= BETA2;
    const c1 = 1 - st.beta1Power;
    const c2 = 1 - st.beta2Power;
    const lr = st.learningRate;
    const { m, v } = st;
    const p = this.params;
    for (let i = 0; i < p.length; i++) {
      const g = grad[i]!;
      const mi = BETA1 * m[i]! + (1 - BETA1) * g;
      const vi = BETA2 * v[i]! + (1 - BETA2) * g * g;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + EPSILON);
    }
    this.weightsChanged();
  }

  /**
   * Fraud probabilities for every row. Works in chunks built straight from the
   * Float32Array: predicting one huge tensor in small slices is quadratic on wasm.
   */
  predict(features: Float32Array, numRows: number, chunkRows = 8192): Float32Array {
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
    chunkRows = 8192,
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
    const weights = this.inferenceWeights();
    const last = this.layers.length - 1;
    const probabilities = new Float32Array(numRows);
    const logits = withLogits ? new Float32Array(numRows) : null;
    for (let a = 0; a < numRows; a += chunkRows) {
      const b = Math.min(numRows, a + chunkRows);
      const [z, probs] = tf.tidy(() => {
        let h = tf.tensor2d(features.subarray(a * d, b * d), [b - a, d]);
        for (let l = 0; l <= last; l++) {
          h = tf.fused.matMul({
            a: h,
            b: weights[2 * l] as tf.Tensor2D,
            bias: weights[2 * l + 1],
            activation: l < last ? 'relu' : 'linear',
          }) as tf.Tensor2D;
        }
        return [h, tf.sigmoid(h)] as [tf.Tensor2D, tf.Tensor2D];
      });
      probabilities.set(probs.dataSync() as Float32Array, a);
      if (logits) logits.set(z.dataSync() as Float32Array, a);
      probs.dispose();
      z.dispose();
    }
    return { probabilities, logits };
  }

  /** Mean binary cross-entropy without dropout (evaluation loss). */
  loss(features: Float32Array, labels: Uint8Array, numRows: number): number {
    return binaryCrossEntropy(this.predict(features, numRows), labels);
  }

  dispose(): void {
    this.weightsChanged();
    this.adam = null;
    this.disposed = true;
  }
}

function firstNonFiniteIndex(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/**
 * Copies the batch's rows (in shuffled order) into x [rows, d], its transpose plus a row
 * of ones into xt [d + 1, rows], and the labels into y.
 */
function gatherBatch(
  features: Float32Array,
  labels: Uint8Array,
  d: number,
  order: Int32Array,
  startRow: number,
  rows: number,
  x: Float32Array,
  xt: Float32Array,
  y: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const src = order[startRow + r]!;
    const from = src * d;
    const to = r * d;
    for (let j = 0; j < d; j++) x[to + j] = features[from + j]!;
    y[r] = labels[src]!;
  }
  // Column by column: sequential writes (row-by-row writes at a stride of `rows` floats
  // hit the same cache sets over and over).
  for (let j = 0; j < d; j++) {
    const to = j * rows;
    for (let r = 0; r < rows; r++) xt[to + r] = x[r * d + j]!;
  }
  xt.fill(1, d * rows, (d + 1) * rows);
}

/** k = s·W and kt = s·Wᵀ for the kernel W [inSize, outSize] stored at p[at…]. */
function scaleAndTranspose(
  p: Float32Array,
  at: number,
  inSize: number,
  outSize: number,
  s: number,
  k: Float32Array,
  kt: Float32Array,
): void {
  for (let i = 0; i < inSize; i++) {
    for (let o = 0; o < outSize; o++) {
      const w = p[at + i * outSize + o]! * s;
      k[i * outSize + o] = w;
      kt[o * inSize + i] = w;
    }
  }
}

/**
 * Fills the 0/1 dropout masks of one batch (row-major [rows, units] per hidden layer),
 * each unit kept with probability `keep`. sfc32 seeded through splitmix32, inlined: the
 * masks of a 1024-row batch take ~100k draws, and a method call per draw would cost as
 * much as the matrix products.
 */
function fillMasks(masks: Float32Array[], layers: Layer[], rows: number, keep: number, seed: number): void {
  let s = seed >>> 0;
  const mix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
    return (t ^ (t >>> 16)) | 0;
  };
  let a = mix();
  let b = mix();
  let c = mix();
  let d = 1;
  for (let i = 0; i < 12; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
  }
  // Keep when a uniform 32-bit word is below keep·2³² (exact to 2⁻³²), compared as
  // signed integers (both sides offset by 2³¹) so the loop stays in int32 arithmetic.
  const threshold = (Math.floor(keep * 4294967296) - 2147483648) | 0;
  for (let l = 0; l < masks.length; l++) {
    const mask = masks[l]!;
    const count = rows * layers[l]!.outSize;
    for (let i = 0; i < count; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      // Branch-free: a taken/not-taken branch at random 80/20 mispredicts constantly.
      mask[i] = +((t ^ -2147483648) < threshold);
    }
  }
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
