/**
 * Exact Shapley values and KernelSHAP (src/explain) against an independent brute-force
 * Shapley (all d! orders), efficiency, convergence of KernelSHAP and seeded determinism.
 */
import { describe, expect, it } from 'vitest';
import {
  backgroundFromRows,
  exactShapley,
  expectedValue,
  kernelShap,
  shapley,
  type ModelFunction,
} from '../src/explain/index.js';
import { createRng } from '../src/rng/index.js';
import { bruteForceShapley, maxAbsDiff, normalRows, randomBackground, randomMlp, sum } from './explain-helpers.js';

describe('exact Shapley values', () => {
  it('match brute-force Shapley over all orders within 1e-9 (d = 6, weighted background)', () => {
    const model = randomMlp({ inputSize: 6, hidden: [7, 5], dropout: 0.2 }, 11);
    const bg = randomBackground(4, 6, 12);
    const rng = createRng(13);
    for (let t = 0; t < 3; t++) {
      const x = normalRows(1, 6, rng);
      const e = exactShapley(model.logits, x, bg);
      const ref = bruteForceShapley((row) => model.logits(row, 1)[0]!, x, bg);
      expect(maxAbsDiff(e.attributions, ref)).toBeLessThan(1e-9);
      expect(Math.abs(ref[0]!)).toBeGreaterThan(1e-3); // not a trivially zero case
      expect(e.space).toBe('logit');
      expect(e.coalitions).toBe(64);
      expect(e.evaluations).toBe(64 * 4);
    }
  });

  it('are efficient: Σφ = f(x) − E[f(background)]', () => {
    const model = randomMlp({ inputSize: 9, hidden: [8], dropout: 0 }, 21);
    const bg = randomBackground(5, 9, 22);
    const x = normalRows(1, 9, createRng(23));
    const e = exactShapley(model.logits, x, bg);
    expect(e.value).toBeCloseTo(model.logits(x, 1)[0]!, 12);
    expect(e.baseValue).toBeCloseTo(expectedValue(model.logits, bg), 12);
    expect(Math.abs(sum(e.attributions) - (e.value - e.baseValue))).toBeLessThan(1e-12);
  });

  it('give a linear model w_j·(x_j − E[b_j]) and a feature the model ignores 0', () => {
    const w = [1.5, -2, 0, 0.25];
    const f: ModelFunction = (rows, n) => {
      const out = new Float64Array(n);
      for (let r = 0; r < n; r++) for (let j = 0; j < 4; j++) out[r] += w[j]! * rows[r * 4 + j]!;
      return out;
    };
    const bg = backgroundFromRows([0, 1, 2, 3, 2, -1, 0, 1], 4, [3, 1]);
    const x = [1, 1, 5, -1];
    const e = exactShapley(f, x, bg);
    const mean = [0.5, 0.5, 1.5, 2.5];
    for (let j = 0; j < 4; j++) expect(e.attributions[j]).toBeCloseTo(w[j]! * (x[j]! - mean[j]!), 12);
    expect(e.attributions[2]).toBe(0);
  });

  it('refuse too many features, mismatched shapes and non-finite values with clear errors', () => {
    const f: ModelFunction = (_rows, n) => new Float64Array(n);
    const bg13 = randomBackground(2, 13, 1);
    expect(() => exactShapley(f, new Float64Array(13), bg13)).toThrow(/2\^13 coalitions; at most 12 features/);
    expect(() => exactShapley(f, new Float64Array(13), bg13, { maxFeatures: 30 })).not.toThrow();
    const bg = randomBackground(2, 3, 1);
    expect(() => exactShapley(f, [1, 2], bg)).toThrow(/2 features, the background has 3/);
    expect(() => exactShapley(f, [1, NaN, 2], bg)).toThrow(/feature 1 of the transaction is not finite/);
    const bad: ModelFunction = (_rows, n) => new Float64Array(n).fill(NaN);
    expect(() => exactShapley(bad, [1, 2, 3], bg)).toThrow(/non-finite/);
    expect(() => backgroundFromRows([1, 2, 3], 2)).toThrow(/not a whole/);
    expect(() => backgroundFromRows([1, 2], 2, [0])).toThrow(/all weights are zero/);
  });
});

describe('KernelSHAP', () => {
  const model = randomMlp({ inputSize: 8, hidden: [12, 6], dropout: 0.2 }, 31);
  const bg = randomBackground(5, 8, 32);
  const xs = Array.from({ length: 4 }, (_, i) => normalRows(1, 8, createRng(40 + i)));

  it('equals the exact Shapley values when the budget covers every coalition (d = 8: 254)', () => {
    for (const x of xs) {
      const exact = exactShapley(model.logits, x, bg);
      const k = kernelShap(model.logits, x, bg, { rng: createRng(1), samples: 254 });
      expect(k.coalitions).toBe(254);
      expect(maxAbsDiff(k.attributions, exact.attributions)).toBeLessThan(1e-9);
    }
  });

  it('converges to the exact values as the sampled budget grows, and stays efficient', () => {
    const budgets = [16, 40, 100, 200];
    const errors = budgets.map((samples) => {
      let total = 0;
      for (const x of xs) {
        const exact = exactShapley(model.logits, x, bg);
        for (let seed = 0; seed < 5; seed++) {
          const k = kernelShap(model.logits, x, bg, { rng: createRng(seed), samples });
          expect(Math.abs(sum(k.attributions) - (exact.value - exact.baseValue))).toBeLessThan(1e-10);
          total += maxAbsDiff(k.attributions, exact.attributions);
        }
      }
      return total / (xs.length * 5);
    });
    expect(errors[0]!).toBeGreaterThan(1e-4); // the small budgets really sample
    for (let i = 1; i < errors.length; i++) expect(errors[i]!).toBeLessThan(errors[i - 1]!);
    expect(errors[3]!).toBeLessThan(errors[0]! / 5);
  });

  it('is close to the exact values with the default budget at d = 14 (sampling, not enumeration)', () => {
    const m14 = randomMlp({ inputSize: 14, hidden: [16, 8], dropout: 0 }, 51);
    const bg14 = randomBackground(3, 14, 52);
    const x = normalRows(1, 14, createRng(53));
    const exact = exactShapley(m14.logits, x, bg14, { maxFeatures: 14 });
    const k = kernelShap(m14.logits, x, bg14, { rng: createRng(54) });
    expect(k.coalitions).toBe(2 * 14 + 2048);
    let scale = 0;
    for (const v of exact.attributions) scale = Math.max(scale, Math.abs(v));
    expect(maxAbsDiff(k.attributions, exact.attributions)).toBeLessThan(0.05 * scale);
    expect(Math.abs(sum(k.attributions) - (exact.value - exact.baseValue))).toBeLessThan(1e-10);
  });

  it('is deterministic for a seed and differs across seeds when it samples', () => {
    const a = kernelShap(model.logits, xs[0]!, bg, { rng: createRng(7), samples: 60 });
    const b = kernelShap(model.logits, xs[0]!, bg, { rng: createRng(7), samples: 60 });
    const c = kernelShap(model.logits, xs[0]!, bg, { rng: createRng(8), samples: 60 });
    expect(Array.from(a.attributions)).toEqual(Array.from(b.attributions));
    expect(maxAbsDiff(a.attributions, c.attributions)).toBeGreaterThan(0);
  });

  it('gives exactly 0 to a feature equal to every background row, and handles 0 or 1 varying features', () => {
    const bg2 = backgroundFromRows([0, 1, 2, 3, 1, 2, 2, 3, 0, 0, 2, 3], 4, [1, 2, 3]);
    const f: ModelFunction = (rows, n) => {
      const out = new Float64Array(n);
      for (let r = 0; r < n; r++) out[r] = rows[r * 4]! * rows[r * 4 + 1]! + rows[r * 4 + 2]! * rows[r * 4 + 3]!;
      return out;
    };
    const x = [2, -1, 2, 3];
    const k = kernelShap(f, x, bg2, { rng: createRng(1) });
    const e = exactShapley(f, x, bg2);
    expect(k.attributions[2]).toBe(0);
    expect(k.attributions[3]).toBe(0);
    expect(maxAbsDiff(k.attributions, e.attributions)).toBeLessThan(1e-12);
    const one = kernelShap(f, [2, 2, 2, 3], backgroundFromRows([0, 2, 2, 3], 4), { rng: createRng(1) });
    expect(Array.from(one.attributions)).toEqual([4, 0, 0, 0]);
    const none = kernelShap(f, [0, 2, 2, 3], backgroundFromRows([0, 2, 2, 3], 4), { rng: createRng(1) });
    expect(Array.from(none.attributions)).toEqual([0, 0, 0, 0]);
  });

  it('shapley() enumerates up to maxExactFeatures and samples above', () => {
    const small = shapley(model.logits, xs[0]!, bg, { rng: createRng(1) });
    expect(small.method).toBe('exact-shapley');
    const big = shapley(model.logits, xs[0]!, bg, { rng: createRng(1), maxExactFeatures: 6, samples: 100 });
    expect(big.method).toBe('kernel-shap');
    expect(big.coalitions).toBe(100);
    expect(() => kernelShap(model.logits, xs[0]!, bg, { rng: createRng(1), samples: 1 })).toThrow(/samples must be/);
  });
});
