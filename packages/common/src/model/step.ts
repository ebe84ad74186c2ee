/**
 * One batch's forward and backward pass and one chunk's forward pass of the MLP, over
 * TF.js kernels: what MlpTrainer's threads run where the WebAssembly kernels cannot
 * (kernel-gradient.ts, forward.ts), and the reference those are tested against.
 *
 * Why not `tf.LayersModel.fit`, nor even `optimizer.minimize` over `tf.variableGrads`: for a
 * network this small (4,097 parameters), what a training step costs on the wasm backend is
 * mostly not arithmetic but the number of kernel launches and one slow path:
 *
 * - autodiff of `matMul` produces products with `transposeA`/`transposeB`, and the wasm
 *   backend only sends untransposed products to XNNPACK; transposed ones run a scalar
 *   C++ loop several times slower. Here every product is untransposed: transposed weights
 *   are built in JS (a few thousand floats), the transposed input batch (with a row of
 *   ones, which yields the first layer's bias gradient in the same product) is gathered
 *   in JS, and only the small `dZᵀ` of the middle layers goes through a Transpose kernel;
 * - `tf.train.adam` runs ~14 kernels per variable per step (84 for this model) plus
 *   scalar uploads; updating 4,097 floats in JS takes microseconds (adam.ts);
 * - the loss and its gradient w.r.t. the logits, `(σ(z) − y)/n`, are computed in JS from
 *   the logits (one n-float readback) instead of through ~15 autodiff kernels;
 * - dropout masks are 0/1 and come from an inlined seeded generator; the 1/keep scaling
 *   of inverted dropout is folded into the next layer's weights (W/keep), so that the
 *   backward ReLU-and-dropout mask of a hidden layer is simply step(h).
 *
 * About 19 kernels (plus free reshapes) run per batch instead of ~200 (counted with
 * tf.profile). Device tensors are rebuilt from the master weights each batch (they change
 * every batch anyway) and cached for inference.
 *
 * A shard's gradient is the gradient of its *summed* loss divided by the whole batch's
 * row count, so the gradients of the shards of one batch add up to the gradient of the
 * batch's mean loss: with one shard it is exactly the one-core computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fillMasks } from './dropout.js';
import { manifestFor, tensorSize, type MlpSpec } from './mlp.js';

export interface Layer {
  inSize: number;
  outSize: number;
  /** Offsets of the kernel ([inSize, outSize], row-major) and bias in the flat vector. */
  kernelAt: number;
  biasAt: number;
}

/** Layer sizes and offsets in the flat weight vector (manifest order). */
export function layersOf(spec: MlpSpec): Layer[] {
  const manifest = manifestFor(spec);
  const layers: Layer[] = [];
  let offset = 0;
  for (let i = 0; i < manifest.length; i += 2) {
    const [inSize, outSize] = manifest[i]!.shape as [number, number];
    const kernelAt = offset;
    offset += inSize * outSize;
    layers.push({ inSize, outSize, kernelAt, biasAt: offset });
    offset += tensorSize(manifest[i + 1]!.shape);
  }
  return layers;
}

/** Rows of one shard of a batch: the batch's rows `order[startRow + from … startRow + to)`. */
export interface ShardJob {
  features: Float32Array;
  labels: Uint8Array;
  order: Int32Array;
  /** First row of this shard in `order`. */
  startRow: number;
  rows: number;
  /** Seeds this shard's dropout masks. */
  seed: number;
  /** Row count of the whole batch: the gradient is of (summed shard loss) / divisor. */
  divisor: number;
}

/**
 * Reusable buffers and the gradient computation for shards of at most `maxRows` rows.
 * Not thread-safe (one per thread); no tensors outlive a call.
 */
export class BatchGradient {
  private readonly layers: Layer[];
  private readonly d: number;
  private readonly dropout: number;
  /** 1/keep for the layers that consume dropped-out activations, else 1. */
  private readonly inputScale: number[];
  private readonly xBuf: Float32Array;
  /** The batch transposed, plus a row of ones: [d + 1, rows]. */
  private readonly xtBuf: Float32Array;
  private readonly yBuf: Float32Array;
  private readonly gBuf: Float32Array;
  private readonly masks: Float32Array[];
  private readonly kernels: Float32Array[];
  private readonly kernelsT: Float32Array[];

  constructor(
    spec: MlpSpec,
    readonly maxRows: number,
  ) {
    const layers = layersOf(spec);
    this.layers = layers;
    this.d = spec.inputSize;
    this.dropout = spec.dropout;
    const keep = 1 - spec.dropout;
    this.inputScale = layers.map((_, l) => (l > 0 && spec.dropout > 0 ? 1 / keep : 1));
    // Every tensor built from these buffers is disposed before they are rewritten (on
    // the cpu backend tensors alias the arrays they were built from).
    this.xBuf = new Float32Array(maxRows * this.d);
    this.xtBuf = new Float32Array((this.d + 1) * maxRows);
    this.yBuf = new Float32Array(maxRows);
    this.gBuf = new Float32Array(maxRows);
    this.masks = layers.slice(0, -1).map((l) => new Float32Array(spec.dropout > 0 ? maxRows * l.outSize : 0));
    this.kernels = layers.map((l) => new Float32Array(l.inSize * l.outSize));
    this.kernelsT = layers.map((l) => new Float32Array(l.inSize * l.outSize));
  }

  /**
   * Writes d(Σ shard loss / divisor)/d(params) into `grad` (manifest layout, every entry
   * overwritten) and returns the shard's summed loss (float64).
   */
  compute(params: Float32Array, job: ShardJob, grad: Float32Array): number {
    const { rows } = job;
    if (rows < 1 || rows > this.maxRows) throw new Error(`shard of ${rows} rows, buffers hold ${this.maxRows}`);
    gatherBatch(job.features, job.labels, this.d, job.order, job.startRow, rows, this.xBuf, this.xtBuf, this.yBuf);
    if (this.dropout > 0) fillMasks(this.masks, this.layers, rows, 1 - this.dropout, job.seed);
    for (let l = 0; l < this.layers.length; l++) {
      const { inSize, outSize, kernelAt } = this.layers[l]!;
      scaleAndTranspose(params, kernelAt, inSize, outSize, this.inputScale[l]!, this.kernels[l]!, this.kernelsT[l]!);
    }
    return tf.tidy(() => this.backprop(params, rows, job.divisor, grad));
  }

  private backprop(params: Float32Array, rows: number, divisor: number, grad: Float32Array): number {
    const { layers, d, xBuf, xtBuf, yBuf, gBuf, masks, kernels, kernelsT, inputScale } = this;
    const last = layers.length - 1;
    const dropout = this.dropout > 0;

    // Forward. inputs[l] is what layer l consumes: the batch, then masked activations.
    const x = tf.tensor2d(xBuf.subarray(0, rows * d), [rows, d]);
    const inputs: tf.Tensor2D[] = [x];
    let h: tf.Tensor2D = x;
    let logits: tf.Tensor2D = x;
    for (let l = 0; l <= last; l++) {
      const { inSize, outSize, biasAt } = layers[l]!;
      const w = tf.tensor2d(kernels[l]!, [inSize, outSize]);
      const b = tf.tensor1d(params.subarray(biasAt, biasAt + outSize));
      const z = tf.fused.matMul({ a: h, b: w, bias: b, activation: l < last ? 'relu' : 'linear' }) as tf.Tensor2D;
      if (l === last) {
        logits = z;
      } else {
        h = dropout ? tf.mul(z, tf.tensor2d(masks[l]!.subarray(0, rows * outSize), [rows, outSize])) : z;
        inputs.push(h);
      }
    }

    // Loss and dLoss/dlogits in JS, in float64: max(z,0) − z·y + log(1 + e^−|z|) (the
    // stable form TF.js' sigmoidCrossEntropy uses), gradient (σ(z) − y) / divisor.
    const z = logits.dataSync() as Float32Array;
    let loss = 0;
    let biasGrad = 0;
    for (let r = 0; r < rows; r++) {
      const zr = z[r]!;
      const y = yBuf[r]!;
      const e = Math.exp(-Math.abs(zr));
      loss += Math.max(zr, 0) - zr * y + Math.log1p(e);
      const sigma = zr >= 0 ? 1 / (1 + e) : e / (1 + e);
      const g = (sigma - y) / divisor;
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
    return loss;
  }
}

/**
 * Device copies of the weights for inference, [kernel, bias] per layer, each kept
 * (tf.keep) so that a caller's tf.tidy does not dispose them. Copies: on the cpu
 * backend a tensor may alias the array it was built from.
 */
export function inferenceTensors(layers: Layer[], params: Float32Array): tf.Tensor[] {
  return layers.flatMap((l) => [
    tf.keep(tf.tensor2d(params.slice(l.kernelAt, l.kernelAt + l.inSize * l.outSize), [l.inSize, l.outSize])),
    tf.keep(tf.tensor1d(params.slice(l.biasAt, l.biasAt + l.outSize))),
  ]);
}

/**
 * Forward pass of rows [from, to) of `features` ([rows, d] row-major) in chunks of
 * `chunkRows` built straight from the array (predicting one huge tensor in small slices
 * is quadratic on wasm). Writes σ(z) into probabilities[from…to) and, if given, z into
 * logits[from…to).
 */
export function forwardRows(
  weights: tf.Tensor[],
  d: number,
  features: Float32Array,
  from: number,
  to: number,
  chunkRows: number,
  probabilities: Float32Array,
  logits: Float32Array | null,
): void {
  const last = weights.length / 2 - 1;
  for (let a = from; a < to; a += chunkRows) {
    const b = Math.min(to, a + chunkRows);
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
