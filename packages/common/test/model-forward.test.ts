/**
 * The inference pass (model/forward.ts): the WebAssembly kernel against the TF.js layers and
 * against a float64 reference of the same network, for specs whose widths are and are not
 * multiples of the kernel's 8-unit blocks, row counts around its 4-row and 256-row blocks, and
 * sub-ranges of the rows. Also: the fallback when kernels are off, and new weights taking effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWasmKernelsEnabled } from '../src/kernels/index.js';
import {
  createForward,
  initWeights,
  KernelForward,
  switchBackend,
  TensorForward,
  type MlpSpec,
} from '../src/model/index.js';
import { layersOf } from '../src/model/step.js';
import { createRng } from '../src/rng/index.js';

function features(seed: number, rows: number, d: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(rows * d);
  for (let i = 0; i < x.length; i++) x[i] = 2 * rng.normal();
  return x;
}

/** Logits in float64: Σ over the layers of relu(x·W + b), the last without ReLU. */
function referenceLogits(spec: MlpSpec, params: Float32Array, x: Float32Array, rows: number): Float64Array {
  const layers = layersOf(spec);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let h: number[] = Array.from(x.subarray(r * spec.inputSize, (r + 1) * spec.inputSize));
    layers.forEach((l, i) => {
      const next: number[] = [];
      for (let o = 0; o < l.outSize; o++) {
        let s = params[l.biasAt + o]!;
        for (let j = 0; j < l.inSize; j++) s += h[j]! * params[l.kernelAt + j * l.outSize + o]!;
        next.push(i < layers.length - 1 ? Math.max(0, s) : s);
      }
      h = next;
    });
    out[r] = h[0]!;
  }
  return out;
}

/** Runs `rows` rows through a pass, in the sub-ranges given (covering them all). */
function run(
  pass: ReturnType<typeof createForward>,
  x: Float32Array,
  rows: number,
  ranges: [number, number][],
): { p: Float32Array; z: Float32Array } {
  const p = new Float32Array(rows).fill(NaN);
  const z = new Float32Array(rows).fill(NaN);
  for (const [from, to] of ranges) pass.rows(x, from, to, p, z, 64);
  return { p, z };
}

const SPECS: [string, MlpSpec][] = [
  ['the default 30-64-32-1', { inputSize: 30, hidden: [64, 32], dropout: 0.2 }],
  ['widths not multiples of 8', { inputSize: 7, hidden: [13, 5, 3], dropout: 0 }],
  ['one input, one hidden unit', { inputSize: 1, hidden: [1], dropout: 0 }],
  ['a wide layer', { inputSize: 30, hidden: [200], dropout: 0.1 }],
];

beforeAll(async () => {
  await switchBackend('wasm');
});

afterAll(() => {
  setWasmKernelsEnabled(true);
});

describe('KernelForward', () => {
  it.each(SPECS)('matches a float64 reference and the TF.js layers: %s', (_, spec) => {
    const params = initWeights(spec, createRng(3)).data;
    // Non-zero biases, so that a bias in the wrong place shows.
    const rng = createRng(4);
    for (const l of layersOf(spec)) for (let o = 0; o < l.outSize; o++) params[l.biasAt + o] = rng.normal() * 0.3;
    for (const rows of [1, 3, 4, 5, 255, 256, 257, 1000]) {
      const x = features(rows, rows, spec.inputSize);
      const kernel = KernelForward.create(spec)!;
      expect(kernel).not.toBeNull();
      kernel.setWeights(params);
      const tfjs = new TensorForward(spec);
      tfjs.setWeights(params);
      const k = run(kernel, x, rows, [[0, rows]]);
      const t = run(tfjs, x, rows, [[0, rows]]);
      tfjs.dispose();
      const ref = referenceLogits(spec, params, x, rows);
      for (let r = 0; r < rows; r++) {
        const tol = 1e-5 * (1 + Math.abs(ref[r]!));
        expect(Math.abs(k.z[r]! - ref[r]!)).toBeLessThan(tol);
        expect(Math.abs(k.z[r]! - t.z[r]!)).toBeLessThan(tol);
        expect(k.p[r]).toBeCloseTo(1 / (1 + Math.exp(-ref[r]!)), 5);
        expect(Math.abs(k.p[r]! - t.p[r]!)).toBeLessThan(1e-6);
      }
    }
  });

  it('gives every row the same bits whatever the range it is computed in', () => {
    const spec = SPECS[1]![1];
    const params = initWeights(spec, createRng(5)).data;
    const rows = 700;
    const x = features(6, rows, spec.inputSize);
    const pass = KernelForward.create(spec)!;
    pass.setWeights(params);
    const whole = run(pass, x, rows, [[0, rows]]);
    const parts = run(pass, x, rows, [
      [0, 1],
      [1, 258],
      [258, 263],
      [263, rows],
    ]);
    expect(Array.from(parts.z)).toEqual(Array.from(whole.z));
    expect(Array.from(parts.p)).toEqual(Array.from(whole.p));
  });

  it('uses the weights of the last setWeights', () => {
    const spec = SPECS[0]![1];
    const a = initWeights(spec, createRng(7)).data;
    const b = initWeights(spec, createRng(8)).data;
    const x = features(9, 50, spec.inputSize);
    const pass = KernelForward.create(spec)!;
    pass.setWeights(a);
    const za = run(pass, x, 50, [[0, 50]]).z;
    pass.setWeights(b);
    const zb = run(pass, x, 50, [[0, 50]]).z;
    const ref = referenceLogits(spec, b, x, 50);
    expect(Array.from(za)).not.toEqual(Array.from(zb));
    for (let r = 0; r < 50; r++) expect(Math.abs(zb[r]! - ref[r]!)).toBeLessThan(1e-5 * (1 + Math.abs(ref[r]!)));
  });
});

describe('createForward', () => {
  it('is the kernel by default and TF.js when kernels are off', () => {
    const spec = SPECS[0]![1];
    expect(createForward(spec).kind).toBe('wasm-kernel');
    setWasmKernelsEnabled(false);
    try {
      const pass = createForward(spec);
      expect(pass.kind).toBe('tfjs');
      expect(() => pass.rows(new Float32Array(30), 0, 1, new Float32Array(1), null, 64)).toThrow(/setWeights/);
      pass.dispose();
    } finally {
      setWasmKernelsEnabled(true);
    }
  });
});
