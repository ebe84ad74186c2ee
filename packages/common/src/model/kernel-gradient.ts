/**
 * One shard's forward and backward pass of a training batch on the WebAssembly SIMD kernels of
 * wasm/dense.wat: the same computation as step.ts' `BatchGradient` (same gathered rows, same
 * dropout masks, same gradient of Σ shard loss / divisor, same loss), without TF.js. At this
 * model size a TF.js step is mostly per-kernel dispatch, tensor uploads and read-backs (~19
 * kernels a batch); here a batch is six products and two element-wise passes over buffers that
 * stay in the kernel's memory. The float32 sums run in another order than XNNPACK's, so the two
 * agree to rounding, not bit for bit (test/model-kernel-gradient.test.ts).
 *
 * Layout (float32, row-major, in the kernel's memory). act[l] is what layer l consumes: the
 * gathered batch (l = 0), then the masked hidden activations. Each act[l] row holds its K[l]
 * values (hidden widths rounded up to 8 with zero weights, so the extra units are 0), then a
 * constant 1, then zeros up to a stride S[l] that is a multiple of 4. The 1 makes one product
 * give a layer's weight and bias gradients together: act[l]ᵀ·dZ = [dW; db]. The output layer is
 * padded to 8 units (only unit 0 has weights), so every product has the kernel's 8-column blocks.
 *
 * Per batch of n rows (m = n rounded up to 4; rows n…m−1 compute on stale values and are never
 * read back: the weight gradients sum over exactly n rows):
 *   forward   act[l+1] = relu(act[l]·W[l]s + b) · mask,  z = act[L−1]·W[L−1]s + b
 *   loss      dz = (σ(z) − y) / divisor in JS, float64 (as step.ts)
 *   backward  [dW; db][l] = act[l]ᵀ·dZ[l];  dZ[l−1] = (dZ[l]·(W[l]s)ᵀ) where act[l] > 0
 * with s = 1/keep for the layers after a dropout (inverted dropout folded into the weights).
 */
import { denseWasmModule } from '../kernels/wasm/dense.wasm.js';
import { createMemory, instantiateKernel } from '../kernels/wasm/instance.js';
import { fillMasks } from './dropout.js';
import type { DenseExports } from './forward.js';
import type { MlpSpec } from './mlp.js';
import { BatchGradient, layersOf, type Layer, type ShardJob } from './step.js';

/** What trainer threads compute a shard with: `KernelBatchGradient` or step.ts' `BatchGradient`. */
export interface ShardGradient {
  readonly maxRows: number;
  /** Writes d(Σ shard loss / divisor)/d(params) into `grad` (every entry) and returns the summed loss. */
  compute(params: Float32Array, job: ShardJob, grad: Float32Array): number;
}

/** The kernel where WebAssembly SIMD is available and kernels are on, else TF.js. */
export function createBatchGradient(spec: MlpSpec, maxRows: number): ShardGradient {
  return KernelBatchGradient.create(spec, maxRows) ?? new BatchGradient(spec, maxRows);
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

interface KernelLayer extends Layer {
  /** Values per act row this layer reads (its padded input width) and the act row stride (floats). */
  k: number;
  stride: number;
  /** Output columns in the kernel (hidden: out rounded up to 8; output layer: 8). */
  n: number;
  /** 1/keep after a dropout, else 1. */
  scale: number;
  /** Float offsets in the kernel's memory. */
  act: number;
  /** The dropout mask of act (same layout; −1 for the first layer or without dropout). */
  mask: number;
  w: number;
  wT: number;
  bias: number;
  dW: number;
}

/** One thread's buffers and the kernel; not thread-safe. */
export class KernelBatchGradient implements ShardGradient {
  private readonly f32: Float32Array;
  private readonly masks: Float32Array[];
  private readonly maskStrides: number[];

  private constructor(
    private readonly kernel: DenseExports,
    buffer: ArrayBuffer,
    private readonly d: number,
    private readonly dropout: number,
    readonly maxRows: number,
    private readonly layers: KernelLayer[],
    /** dZ at each layer's output: dz[l] has layer l's output layout (act[l+1], or 8 columns for z). */
    private readonly dz: { at: number; stride: number }[],
    private readonly zAt: number,
    private readonly zerosAt: number,
  ) {
    this.f32 = new Float32Array(buffer);
    const rows4 = roundUp(maxRows, 4);
    // Masks share act[l+1]'s layout; 1 everywhere they are not drawn, so the constant column stays 1.
    const masked = dropout > 0 ? layers.slice(1) : [];
    this.masks = masked.map((l) => this.f32.subarray(l.mask, l.mask + rows4 * l.stride).fill(1));
    this.maskStrides = masked.map((l) => l.stride);
    for (const l of layers) {
      for (let r = 0; r < rows4; r++) this.f32[l.act + r * l.stride + l.k] = 1;
    }
  }

  /** Null where the kernel cannot run (no WebAssembly SIMD, kernels off, memory refused). */
  static create(spec: MlpSpec, maxRows: number): KernelBatchGradient | null {
    const module = denseWasmModule();
    if (!module) return null;
    if (!(Number.isInteger(maxRows) && maxRows >= 1))
      throw new Error(`maxRows must be a positive integer, got ${maxRows}`);
    const rows4 = roundUp(maxRows, 4);
    const base = layersOf(spec);
    const last = base.length - 1;
    let at = 0;
    const take = (floats: number): number => {
      const start = at;
      at += roundUp(floats, 4);
      return start;
    };
    const layers: KernelLayer[] = [];
    let k = spec.inputSize;
    base.forEach((layer, l) => {
      const n = l < last ? roundUp(layer.outSize, 8) : 8;
      const stride = roundUp(k + 1, 4);
      layers.push({
        ...layer,
        k,
        stride,
        n,
        scale: l > 0 && spec.dropout > 0 ? 1 / (1 - spec.dropout) : 1,
        act: take(rows4 * stride),
        mask: l > 0 && spec.dropout > 0 ? take(rows4 * stride) : -1,
        w: take(k * n),
        wT: take(n * k),
        bias: take(n),
        dW: take(stride * n),
      });
      k = n;
    });
    // dZ of hidden layer l's output has act[l+1]'s layout; the output's is 8 columns (unit 0 used).
    const dz = layers.map((l, i) =>
      i < last
        ? { at: take(rows4 * layers[i + 1]!.stride), stride: layers[i + 1]!.stride }
        : { at: take(rows4 * 8), stride: 8 },
    );
    const zAt = take(rows4 * 8);
    const zerosAt = take(Math.max(...layers.map((l) => l.n)));
    const memory = createMemory(4 * at);
    if (!memory) return null;
    const kernel = instantiateKernel<DenseExports>(module, { env: { memory } });
    return new KernelBatchGradient(
      kernel,
      memory.buffer,
      spec.inputSize,
      spec.dropout,
      maxRows,
      layers,
      dz,
      zAt,
      zerosAt,
    );
  }

  compute(params: Float32Array, job: ShardJob, grad: Float32Array): number {
    const { rows } = job;
    if (rows < 1 || rows > this.maxRows) throw new Error(`shard of ${rows} rows, buffers hold ${this.maxRows}`);
    const { f32, kernel, layers, dz } = this;
    const last = layers.length - 1;
    const m = roundUp(rows, 4);
    this.gather(job);
    if (this.dropout > 0) fillMasks(this.masks, layers, rows, 1 - this.dropout, job.seed, this.maskStrides);
    this.loadWeights(params);

    // Forward.
    for (let l = 0; l <= last; l++) {
      const L = layers[l]!;
      const next = layers[l + 1];
      const y = next ? next.act : this.zAt;
      const yStride = next ? next.stride : 8;
      kernel.gemm(
        4 * L.act,
        m,
        L.k,
        4 * L.stride,
        4,
        4 * L.w,
        4 * L.n,
        L.n,
        4 * L.bias,
        4 * y,
        4 * yStride,
        next ? 1 : 0,
      );
      if (next && this.dropout > 0) kernel.mul(4 * next.act, 4 * next.mask, m * next.stride);
    }

    // Loss and dLoss/dz in float64: max(z,0) − z·y + log(1 + e^−|z|), gradient (σ(z) − y) / divisor.
    const { labels, order, startRow, divisor } = job;
    const zAt = this.zAt;
    const g = dz[last]!;
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const z = f32[zAt + 8 * r]!;
      const y = labels[order[startRow + r]!]!;
      const e = Math.exp(-Math.abs(z));
      loss += Math.max(z, 0) - z * y + Math.log1p(e);
      const sigma = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      f32[g.at + 8 * r] = (sigma - y) / divisor;
    }

    // Backward: [dW; db] = act[l]ᵀ·dZ[l] (k = rows: only the batch's rows), then dZ below.
    for (let l = last; l >= 0; l--) {
      const L = layers[l]!;
      const out = dz[l]!;
      kernel.gemm(
        4 * L.act,
        L.stride,
        rows,
        4,
        4 * L.stride,
        4 * out.at,
        4 * out.stride,
        L.n,
        4 * this.zerosAt,
        4 * L.dW,
        4 * L.n,
        0,
      );
      this.writeGradient(L, grad);
      if (l === 0) break;
      const below = dz[l - 1]!;
      kernel.gemm(
        4 * out.at,
        m,
        L.outSize,
        4 * out.stride,
        4,
        4 * L.wT,
        4 * L.k,
        L.k,
        4 * this.zerosAt,
        4 * below.at,
        4 * below.stride,
        0,
      );
      kernel.relu_grad(4 * below.at, 4 * L.act, m * L.stride);
    }
    return loss;
  }

  /** The shard's rows, in the batch's shuffled order, into act[0] (the constant column stays). */
  private gather(job: ShardJob): void {
    const { f32, d } = this;
    const { act, stride } = this.layers[0]!;
    const { features, order, startRow, rows } = job;
    for (let r = 0; r < rows; r++) {
      const src = order[startRow + r]! * d;
      const to = act + r * stride;
      for (let j = 0; j < d; j++) f32[to + j] = features[src + j]!;
    }
  }

  /** W·s and (W·s)ᵀ, padded, and the biases, from the flat vector. */
  private loadWeights(params: Float32Array): void {
    const f = this.f32;
    for (const L of this.layers) {
      const { inSize, outSize, kernelAt, biasAt, k, n, w, wT, bias, scale } = L;
      for (let i = 0; i < inSize; i++) {
        for (let o = 0; o < outSize; o++) {
          const v = params[kernelAt + i * outSize + o]! * scale;
          f[w + i * n + o] = v;
          f[wT + o * k + i] = v;
        }
      }
      for (let o = 0; o < outSize; o++) f[bias + o] = params[biasAt + o]!;
    }
  }

  /** Layer L's [dW; db] block into the flat gradient: dW·s for the kernel, db (the constant row) for the bias. */
  private writeGradient(L: KernelLayer, grad: Float32Array): void {
    const f = this.f32;
    const { inSize, outSize, kernelAt, biasAt, k, n, dW, scale } = L;
    for (let i = 0; i < inSize; i++) {
      for (let o = 0; o < outSize; o++) grad[kernelAt + i * outSize + o] = scale * f[dW + i * n + o]!;
    }
    for (let o = 0; o < outSize; o++) grad[biasAt + o] = f[dW + k * n + o]!;
  }
}
