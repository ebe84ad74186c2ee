/**
 * The MLP's forward pass for inference (MlpTrainer.predict, its worker threads): dense layers
 * with ReLU, a one-unit output z and σ(z). Two implementations of one interface:
 *
 * - `KernelForward` (the default): the WebAssembly SIMD kernels of wasm/dense.wat, a 4-row × 8-unit
 *   register-blocked product fused with bias and ReLU, run over blocks of 256 rows copied into its
 *   memory, so that a block's activations stay in cache from one layer to the next. Measured on
 *   this project's 2-core machine: 5.3M rows/s on one thread, against 3.5M for the same layers as
 *   TF.js wasm (XNNPACK) kernels, whose per-chunk tensor uploads, read-backs and separate layers
 *   cost more than the arithmetic at this model size (bench/training.ts).
 * - `TensorForward`: the same layers as TF.js fused kernels (step.ts forwardRows), where
 *   WebAssembly SIMD is unavailable or kernels are switched off (`setWasmKernelsEnabled`).
 *
 * Both compute each unit as b + Σ x·w in float32 and σ(z) = 1 / (1 + e^−z); they differ only in
 * the order of the float32 sums (about 1e-6 relative; test/model-forward.test.ts). Hidden layers
 * whose width is not a multiple of 8 are padded with zero weights (their padded units are ReLU(0)
 * = 0 and feed nothing), so any MlpSpec runs on the kernel.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { denseWasmModule } from '../kernels/wasm/dense.wasm.js';
import { createMemory, instantiateKernel } from '../kernels/wasm/instance.js';
import type { MlpSpec } from './mlp.js';
import { forwardRows, inferenceTensors, layersOf, type Layer } from './step.js';

/** The forward pass with a fixed set of weights; not thread-safe (one per thread). */
export interface Forward {
  /** Which implementation runs. */
  readonly kind: 'wasm-kernel' | 'tfjs';
  /** Takes (copies) the weights, flat in manifest order (mlp.ts); call again after they change. */
  setWeights(params: Float32Array): void;
  /**
   * Rows [from, to) of `features` ([rows, d] float32, row-major): σ(z) into
   * probabilities[from…to) and, if given, z into logits[from…to). `chunkRows` is the tensor size
   * of the TF.js implementation (the kernel works in its own blocks).
   */
  rows(
    features: Float32Array,
    from: number,
    to: number,
    probabilities: Float32Array,
    logits: Float32Array | null,
    chunkRows: number,
  ): void;
  /** Frees what it holds (TF.js tensors); the object must not be used afterwards. */
  dispose(): void;
}

/** The kernel when this runtime has WebAssembly SIMD and kernels are on, else TF.js. */
export function createForward(spec: MlpSpec): Forward {
  return KernelForward.create(spec) ?? new TensorForward(spec);
}

/** Rows per block the kernel computes at once (a multiple of 4). */
const BLOCK_ROWS = 256;

/** The exports of wasm/dense.wat (byte offsets and strides; see its header for the requirements). */
export interface DenseExports {
  gemm(
    a: number,
    m: number,
    k: number,
    aRow: number,
    aK: number,
    b: number,
    bRow: number,
    n: number,
    bias: number,
    y: number,
    yRow: number,
    relu: number,
  ): void;
  dot(x: number, rows: number, inSize: number, w: number, b: number, z: number): void;
  mul(x: number, m: number, n: number): void;
  relu_grad(d: number, h: number, n: number): void;
}

interface PaddedLayer {
  /** The layer as stored in the flat vector. */
  layer: Layer;
  /** Input and output widths in the kernel's memory (hidden widths rounded up to 8; the output stays 1). */
  inPadded: number;
  outPadded: number;
  /** Byte offsets of the padded kernel [inPadded, outPadded] and bias [outPadded]. */
  kernelAt: number;
  biasAt: number;
}

const align16 = (bytes: number): number => (bytes + 15) & ~15;
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** The WebAssembly kernel (wasm/dense.wat) over blocks of BLOCK_ROWS rows. */
export class KernelForward implements Forward {
  readonly kind = 'wasm-kernel';
  private readonly f32: Float32Array;
  private readonly layers: PaddedLayer[];
  private readonly xAt: number;
  /** Two activation buffers, used in turn by the hidden layers. */
  private readonly hAt: [number, number];
  private readonly zAt: number;
  private outputBias = 0;

  private constructor(
    private readonly kernel: DenseExports,
    memoryBuffer: ArrayBuffer,
    private readonly d: number,
    layers: PaddedLayer[],
    xAt: number,
    hAt: [number, number],
    zAt: number,
  ) {
    this.f32 = new Float32Array(memoryBuffer);
    this.layers = layers;
    this.xAt = xAt;
    this.hAt = hAt;
    this.zAt = zAt;
  }

  /** Null where the kernel cannot run (no WebAssembly SIMD, kernels switched off, no memory). */
  static create(spec: MlpSpec): KernelForward | null {
    const module = denseWasmModule();
    if (!module) return null;
    const layers: PaddedLayer[] = [];
    let at = 0;
    let inPadded = spec.inputSize;
    const all = layersOf(spec);
    all.forEach((layer, l) => {
      const outPadded = l < all.length - 1 ? roundUp(layer.outSize, 8) : 1;
      const kernelAt = at;
      at = align16(at + 4 * inPadded * outPadded);
      const biasAt = at;
      at = align16(at + 4 * outPadded);
      layers.push({ layer, inPadded, outPadded, kernelAt, biasAt });
      inPadded = outPadded;
    });
    const widest = Math.max(...layers.map((l) => l.outPadded));
    const xAt = at;
    at = align16(at + 4 * BLOCK_ROWS * spec.inputSize);
    const hAt: [number, number] = [at, align16(at + 4 * BLOCK_ROWS * widest)];
    at = align16(hAt[1] + 4 * BLOCK_ROWS * widest);
    const zAt = at;
    at += 4 * BLOCK_ROWS;
    const memory = createMemory(at);
    if (!memory) return null;
    const kernel = instantiateKernel<DenseExports>(module, { env: { memory } });
    return new KernelForward(kernel, memory.buffer, spec.inputSize, layers, xAt, hAt, zAt);
  }

  setWeights(params: Float32Array): void {
    const f = this.f32;
    for (const { layer, inPadded, outPadded, kernelAt, biasAt } of this.layers) {
      const { inSize, outSize } = layer;
      // Zero first: the padded rows and columns must contribute nothing.
      f.fill(0, kernelAt / 4, kernelAt / 4 + inPadded * outPadded);
      f.fill(0, biasAt / 4, biasAt / 4 + outPadded);
      for (let i = 0; i < inSize; i++) {
        const src = layer.kernelAt + i * outSize;
        f.set(params.subarray(src, src + outSize), kernelAt / 4 + i * outPadded);
      }
      f.set(params.subarray(layer.biasAt, layer.biasAt + outSize), biasAt / 4);
    }
    const out = this.layers.at(-1)!.layer;
    this.outputBias = params[out.biasAt]!;
  }

  rows(
    features: Float32Array,
    from: number,
    to: number,
    probabilities: Float32Array,
    logits: Float32Array | null,
  ): void {
    const { f32, d, kernel, layers, xAt, hAt, zAt } = this;
    const last = layers.length - 1;
    const z0 = zAt / 4;
    for (let a = from; a < to; a += BLOCK_ROWS) {
      const n = Math.min(BLOCK_ROWS, to - a);
      // Rows n…m−1 of a short block compute on stale inputs and are not read: rows are independent.
      const m = roundUp(n, 4);
      f32.set(features.subarray(a * d, (a + n) * d), xAt / 4);
      let src = xAt;
      for (let l = 0; l < last; l++) {
        const { inPadded, outPadded, kernelAt, biasAt } = layers[l]!;
        const dst = hAt[l & 1]!;
        kernel.gemm(
          src,
          m,
          inPadded,
          4 * inPadded,
          4,
          kernelAt,
          4 * outPadded,
          outPadded,
          biasAt,
          dst,
          4 * outPadded,
          1,
        );
        src = dst;
      }
      const out = layers[last]!;
      kernel.dot(src, m, out.inPadded, out.kernelAt, this.outputBias, zAt);
      for (let r = 0; r < n; r++) {
        const z = f32[z0 + r]!;
        probabilities[a + r] = 1 / (1 + Math.exp(-z));
        if (logits) logits[a + r] = z;
      }
    }
  }

  dispose(): void {
    // Nothing to free: the memory goes with the object.
  }
}

/** The same layers as TF.js kernels (the fallback). */
export class TensorForward implements Forward {
  readonly kind = 'tfjs';
  private readonly layers: Layer[];
  private tensors: tf.Tensor[] | null = null;

  constructor(private readonly spec: MlpSpec) {
    this.layers = layersOf(spec);
  }

  setWeights(params: Float32Array): void {
    this.dispose();
    this.tensors = inferenceTensors(this.layers, params);
  }

  rows(
    features: Float32Array,
    from: number,
    to: number,
    probabilities: Float32Array,
    logits: Float32Array | null,
    chunkRows: number,
  ): void {
    if (!this.tensors) throw new Error('setWeights must come before rows');
    forwardRows(this.tensors, this.spec.inputSize, features, from, to, chunkRows, probabilities, logits);
  }

  dispose(): void {
    this.tensors?.forEach((t) => t.dispose());
    this.tensors = null;
  }
}
