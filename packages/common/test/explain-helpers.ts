/** Shared by the explain-*.test.ts files: small seeded MLPs and an independent brute-force Shapley. */
import { MlpLogit, backgroundFromRows, type Background } from '../src/explain/index.js';
import { initWeights, type MlpSpec } from '../src/model/index.js';
import { createRng, type Rng } from '../src/rng/index.js';

/** A seeded MLP with non-zero biases (initWeights leaves biases at 0). */
export function randomMlp(spec: MlpSpec, seed: number): MlpLogit {
  const rng = createRng(seed);
  const w = initWeights(spec, rng);
  for (let i = 0; i < w.data.length; i++) w.data[i] = w.data[i]! * 2 + (rng.next() - 0.5) * 0.3;
  return new MlpLogit(spec, w);
}

export function normalRows(n: number, d: number, rng: Rng, scale = 1.5): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * scale;
  return out;
}

export function randomBackground(n: number, d: number, seed: number, weighted = true): Background {
  const rng = createRng(seed);
  const rows = normalRows(n, d, rng);
  const w = weighted ? Array.from({ length: n }, () => 0.2 + rng.next()) : undefined;
  return backgroundFromRows(rows, d, w);
}

/**
 * Shapley values from the permutation definition, written independently of src/explain:
 * φ_i = mean over all d! orders of v(predecessors ∪ {i}) − v(predecessors), with
 * v(S) = Σ_b w_b f(x_S, b_S̄) evaluated row by row.
 */
export function bruteForceShapley(
  f: (row: Float64Array) => number,
  x: ArrayLike<number>,
  bg: Background,
): Float64Array {
  const d = x.length;
  const value = (inS: boolean[]): number => {
    let s = 0;
    for (let b = 0; b < bg.n; b++) {
      const row = new Float64Array(d);
      for (let j = 0; j < d; j++) row[j] = inS[j] ? x[j]! : bg.data[b * d + j]!;
      s += bg.weights[b]! * f(row);
    }
    return s;
  };
  const phi = new Float64Array(d);
  let orders = 0;
  const perm = Array.from({ length: d }, (_, i) => i);
  const visit = (k: number): void => {
    if (k === d) {
      orders++;
      const inS = new Array<boolean>(d).fill(false);
      let prev = value(inS);
      for (const i of perm) {
        inS[i] = true;
        const next = value(inS);
        phi[i] += next - prev;
        prev = next;
      }
      return;
    }
    for (let i = k; i < d; i++) {
      [perm[k], perm[i]] = [perm[i]!, perm[k]!];
      visit(k + 1);
      [perm[k], perm[i]] = [perm[i]!, perm[k]!];
    }
  };
  visit(0);
  for (let i = 0; i < d; i++) phi[i] /= orders;
  return phi;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
