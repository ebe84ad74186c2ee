/**
 * A training batch's gradient on the WebAssembly kernels (model/kernel-gradient.ts) against the
 * TF.js computation of the same batch (step.ts BatchGradient: the reference, itself checked
 * against TF.js autodiff in model-trainer.test.ts) and against a float64 finite-difference-free
 * reference written out here: same rows, same dropout masks, same divisor, for specs whose widths
 * are and are not multiples of the kernel's blocks, and shard sizes around its 4-row blocks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { setWasmKernelsEnabled } from '../src/kernels/index.js';
import {
  createBatchGradient,
  initWeights,
  KernelBatchGradient,
  parameterCount,
  switchBackend,
  type MlpSpec,
} from '../src/model/index.js';
import { BatchGradient, layersOf, type ShardJob } from '../src/model/step.js';
import { createRng } from '../src/rng/index.js';

function job(spec: MlpSpec, seed: number, total: number, startRow: number, rows: number, divisor: number): ShardJob {
  const rng = createRng(seed);
  const features = new Float32Array(total * spec.inputSize);
  for (let i = 0; i < features.length; i++) features[i] = rng.normal();
  const labels = new Uint8Array(total);
  for (let r = 0; r < total; r++) labels[r] = rng.next() < 0.3 ? 1 : 0;
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = (i * 7919) % total; // a fixed permutation (7919 is prime)
  return { features, labels, order, startRow, rows, seed: seed * 31 + 1, divisor };
}

/** Gradient of Σ loss / divisor in float64, without dropout (dropout 0 specs only). */
function referenceGradient(spec: MlpSpec, params: Float32Array, j: ShardJob): { grad: Float64Array; loss: number } {
  const layers = layersOf(spec);
  const grad = new Float64Array(params.length);
  let loss = 0;
  for (let r = 0; r < j.rows; r++) {
    const src = j.order[j.startRow + r]!;
    const acts: number[][] = [Array.from(j.features.subarray(src * spec.inputSize, (src + 1) * spec.inputSize))];
    layers.forEach((l, i) => {
      const h = acts[i]!;
      const next: number[] = [];
      for (let o = 0; o < l.outSize; o++) {
        let s = params[l.biasAt + o]!;
        for (let k = 0; k < l.inSize; k++) s += h[k]! * params[l.kernelAt + k * l.outSize + o]!;
        next.push(i < layers.length - 1 ? Math.max(0, s) : s);
      }
      acts.push(next);
    });
    const z = acts[layers.length]![0]!;
    const y = j.labels[src]!;
    loss += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    let dz = [(1 / (1 + Math.exp(-z)) - y) / j.divisor];
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i]!;
      const h = acts[i]!;
      const below = new Array<number>(l.inSize).fill(0);
      for (let o = 0; o < l.outSize; o++) {
        grad[l.biasAt + o]! += dz[o]!;
        for (let k = 0; k < l.inSize; k++) {
          grad[l.kernelAt + k * l.outSize + o]! += h[k]! * dz[o]!;
          below[k]! += dz[o]! * params[l.kernelAt + k * l.outSize + o]!;
        }
      }
      dz = below.map((v, k) => (h[k]! > 0 ? v : 0));
    }
  }
  return { grad, loss };
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, scale: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5 * scale);
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const SPECS: [string, MlpSpec][] = [
  ['the default 30-64-32-1 with dropout 0.2', { inputSize: 30, hidden: [64, 32], dropout: 0.2 }],
  ['odd widths, dropout 0.5', { inputSize: 7, hidden: [13, 5, 3], dropout: 0.5 }],
  ['one input and one unit, no dropout', { inputSize: 1, hidden: [1], dropout: 0 }],
];

beforeAll(async () => {
  await switchBackend('wasm');
});

describe('KernelBatchGradient', () => {
  it.each(SPECS)('gives the TF.js batch gradient and loss (same rows and masks): %s', (_, spec) => {
    const params = initWeights(spec, createRng(11)).data;
    for (const rows of [1, 3, 4, 5, 64, 255]) {
      const j = job(spec, rows, 400, 17, rows, 2 * rows);
      const kernel = KernelBatchGradient.create(spec, 256)!;
      const tfjs = new BatchGradient(spec, 256);
      const gk = new Float32Array(parameterCount(spec)).fill(NaN);
      const gt = new Float32Array(parameterCount(spec));
      const lk = kernel.compute(params, j, gk);
      const lt = tfjs.compute(params, j, gt);
      expect(lk).toBeCloseTo(lt, 3);
      expectClose(gk, gt, Math.max(1e-3, maxAbs(gt)));
    }
  });

  it('matches a float64 reference without dropout, and the buffers carry nothing from one batch to the next', () => {
    const spec: MlpSpec = { inputSize: 9, hidden: [12, 6], dropout: 0 };
    const params = initWeights(spec, createRng(12)).data;
    const rng = createRng(13);
    for (const l of layersOf(spec)) for (let o = 0; o < l.outSize; o++) params[l.biasAt + o] = 0.2 * rng.normal();
    const kernel = KernelBatchGradient.create(spec, 128)!;
    // A large batch first leaves stale rows in the buffers; the smaller ones after must not see them.
    for (const rows of [128, 5, 37, 2]) {
      const j = job(spec, 40 + rows, 300, 3, rows, rows);
      const g = new Float32Array(parameterCount(spec));
      const loss = kernel.compute(params, j, g);
      const ref = referenceGradient(spec, params, j);
      expect(loss).toBeCloseTo(ref.loss, 3);
      expectClose(g, ref.grad, Math.max(1e-3, maxAbs(ref.grad)));
    }
  });

  it('refuses a shard larger than its buffers', () => {
    const spec = SPECS[0]![1];
    const kernel = KernelBatchGradient.create(spec, 8)!;
    const j = job(spec, 1, 20, 0, 9, 9);
    expect(() =>
      kernel.compute(initWeights(spec, createRng(1)).data, j, new Float32Array(parameterCount(spec))),
    ).toThrow(/9 rows, buffers hold 8/);
  });
});

describe('createBatchGradient', () => {
  it('is the kernel by default and TF.js when kernels are off', () => {
    const spec = SPECS[0]![1];
    expect(createBatchGradient(spec, 16)).toBeInstanceOf(KernelBatchGradient);
    const previous = setWasmKernelsEnabled(false);
    try {
      expect(createBatchGradient(spec, 16)).toBeInstanceOf(BatchGradient);
    } finally {
      setWasmKernelsEnabled(previous);
    }
  });
});
