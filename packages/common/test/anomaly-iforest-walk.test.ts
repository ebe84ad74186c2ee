/**
 * The two Isolation Forest walks (JavaScript, walk-js.ts; WebAssembly, walk-wasm.ts over
 * wasm/iforest.wat) give bit-identical depths: float32 and float64 rows, row counts that are
 * not multiples of the kernel's 8 or of its 512-row block, every height limit from 1 to 9,
 * one feature to thirty, and depths that already hold values (a walker adds).
 */
import { describe, expect, it } from 'vitest';
import { IsolationForest, type Matrix } from '../src/anomaly/index.js';
import { walkJs } from '../src/anomaly/walk-js.js';
import { wasmWalker } from '../src/anomaly/walk-wasm.js';
import { setWasmKernelsEnabled } from '../src/kernels/wasm/instance.js';
import { createRng } from '../src/rng/index.js';

function matrix(rows: number, cols: number, seed: number, kind: 'f32' | 'f64'): Matrix {
  const rng = createRng(seed);
  const data = kind === 'f32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
  // Heavy tails and repeated values: splits land close to data points, ties take the x ≤ t branch.
  for (let i = 0; i < data.length; i++) data[i] = i % 7 === 0 ? Math.round(rng.normal()) : rng.normal() ** 3;
  return { data, rows, cols };
}

function bitsEqual(a: Float64Array, b: Float64Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

describe('Isolation Forest walk: WebAssembly equals JavaScript bit for bit', () => {
  it('the kernel loads here (Node 20 has WebAssembly)', () => {
    const forest = IsolationForest.fit(matrix(64, 3, 1, 'f64'), createRng(1), { numTrees: 2 });
    expect(wasmWalker(forest.trees)).not.toBeNull();
  });

  const cases: [rows: number, cols: number, psi: number, kind: 'f32' | 'f64'][] = [
    [1, 1, 2, 'f64'],
    [7, 2, 3, 'f32'],
    [8, 5, 4, 'f64'],
    [513, 30, 256, 'f32'],
    [1_031, 12, 17, 'f64'],
    [2_500, 8, 300, 'f32'],
    [777, 4, 64, 'f64'],
  ];
  for (const [rows, cols, psi, kind] of cases) {
    it(`${rows} rows × ${cols} features (${kind}), ψ ${psi}`, () => {
      const train = matrix(Math.max(psi, 2), cols, rows + cols, kind);
      const forest = IsolationForest.fit(train, createRng(psi), { numTrees: 13, sampleSize: psi });
      const x = matrix(rows, cols, 99 + rows, kind);
      const start = Float64Array.from({ length: rows }, (_, i) => (i % 3) * 0.1);
      const js = start.slice();
      walkJs(forest.trees, x, js);
      const wasm = start.slice();
      wasmWalker(forest.trees)!(x, wasm);
      expect(bitsEqual(js, wasm)).toBe(true);
      // and the walk did something: every row gained at least one level per tree
      expect(js.every((v, i) => v >= start[i] + 13)).toBe(true);
    });
  }

  it('one walker serves many matrices; scoreSamples is the same on every call', () => {
    const forest = IsolationForest.fit(matrix(2_000, 6, 5, 'f32'), createRng(5));
    const x = matrix(1_500, 6, 6, 'f32');
    const a = forest.scoreSamples(x);
    forest.scoreSamples(matrix(10, 6, 7, 'f32'));
    const b = forest.scoreSamples(x);
    expect(bitsEqual(a, b)).toBe(true);
    const js = new Float64Array(x.rows);
    walkJs(forest.trees, x, js);
    const wasmDepth = new Float64Array(x.rows);
    wasmWalker(forest.trees)!(x, wasmDepth);
    expect(bitsEqual(js, wasmDepth)).toBe(true);
  });

  it('with kernels off, scoreSamples takes the JavaScript walk and returns the same scores', () => {
    const x = matrix(900, 5, 8, 'f64');
    const onScores = IsolationForest.fit(x, createRng(8)).scoreSamples(x);
    const previous = setWasmKernelsEnabled(false);
    try {
      const forest = IsolationForest.fit(x, createRng(8));
      expect(wasmWalker(forest.trees)).toBeNull();
      expect(bitsEqual(forest.scoreSamples(x), onScores)).toBe(true);
    } finally {
      setWasmKernelsEnabled(previous);
    }
  });
});
