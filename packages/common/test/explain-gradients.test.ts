/**
 * The plain-TypeScript MLP (src/explain/mlp.ts) against the TF.js scorer, its analytic
 * gradient against finite differences, exact integrated gradients (completeness, and
 * agreement with a fine Riemann sum), and k-means backgrounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  integratedGradients,
  kmeansBackground,
  expectedValue,
  backgroundFromRows,
  exactShapley,
  coalitionValues,
  kernelShap,
  MlpLogit,
} from '../src/explain/index.js';
import { DEFAULT_MLP, initBackend, initWeights, MlpTrainer } from '../src/model/index.js';
import { createRng } from '../src/rng/index.js';
import { maxAbsDiff, normalRows, randomBackground, randomMlp, sum } from './explain-helpers.js';

describe('MlpLogit', () => {
  let trainer: MlpTrainer | null = null;
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(() => trainer?.dispose());

  it('gives the logits of MlpTrainer.predictWithLogits (TF.js) for the default 30-64-32-1 spec', () => {
    const weights = initWeights(DEFAULT_MLP, createRng(5));
    const rng = createRng(6);
    for (let i = 0; i < weights.data.length; i++) weights.data[i] = weights.data[i]! * 3 + (rng.next() - 0.5) * 0.2;
    trainer = new MlpTrainer(DEFAULT_MLP, weights);
    const n = 200;
    const rows = Float32Array.from(normalRows(n, 30, rng, 2));
    const tf = trainer.predictWithLogits(rows, n).logits;
    const ours = new MlpLogit(DEFAULT_MLP, weights).logits(rows, n);
    let spread = 0;
    for (let i = 0; i < n; i++) {
      spread = Math.max(spread, Math.abs(ours[i]!));
      expect(Math.abs(ours[i]! - tf[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(tf[i]!)));
    }
    expect(spread).toBeGreaterThan(1); // a real range of logits, not all near 0
  });

  it('has the gradient of central finite differences', () => {
    const model = randomMlp({ inputSize: 7, hidden: [9, 5], dropout: 0.1 }, 3);
    const rng = createRng(4);
    for (let t = 0; t < 5; t++) {
      const x = normalRows(1, 7, rng);
      const { logit, gradient } = model.logitAndGradient(x);
      expect(logit).toBeCloseTo(model.logits(x, 1)[0]!, 12);
      const h = 1e-6;
      for (let j = 0; j < 7; j++) {
        const up = Float64Array.from(x);
        const down = Float64Array.from(x);
        up[j] += h;
        down[j] -= h;
        const fd = (model.logits(up, 1)[0]! - model.logits(down, 1)[0]!) / (2 * h);
        expect(Math.abs(fd - gradient[j]!)).toBeLessThan(1e-6);
      }
    }
  });

  it('computes coalition values from its first layer exactly as row-by-row evaluation does', () => {
    const model = randomMlp({ inputSize: 9, hidden: [12, 6], dropout: 0 }, 8);
    const bg = randomBackground(4, 9, 9);
    const x = normalRows(1, 9, createRng(10));
    const m = 2 ** 9;
    const masks = new Uint8Array(m * 9);
    for (let s = 0; s < m; s++) for (let j = 0; j < 9; j++) masks[s * 9 + j] = (s >>> j) & 1;
    const fast = model.coalitionValues(x, bg, masks, m);
    const slow = coalitionValues(model.logits, x, bg, masks, m);
    expect(maxAbsDiff(fast, slow)).toBeLessThan(1e-12);
    expect(
      maxAbsDiff(exactShapley(model, x, bg).attributions, exactShapley(model.logits, x, bg).attributions),
    ).toBeLessThan(1e-12);
    // A background wider than one block of rows (64) takes the same path.
    const wide = randomBackground(70, 9, 11);
    const some = masks.subarray(0, 40 * 9);
    expect(
      maxAbsDiff(model.coalitionValues(x, wide, some, 40), coalitionValues(model.logits, x, wide, some, 40)),
    ).toBeLessThan(1e-12);
    const k1 = kernelShap(model, x, bg, { rng: createRng(1), samples: 100 });
    const k2 = kernelShap(model.logits, x, bg, { rng: createRng(1), samples: 100 });
    expect(maxAbsDiff(k1.attributions, k2.attributions)).toBeLessThan(1e-12);
  });

  it('refuses weights that do not match the spec and rows of the wrong size', () => {
    const spec = { inputSize: 4, hidden: [3], dropout: 0 };
    const w = initWeights(spec, createRng(1));
    expect(() => new MlpLogit({ ...spec, inputSize: 5 }, w)).toThrow(/the model needs/);
    expect(() => new MlpLogit(spec, w).logits(new Float64Array(7), 2)).toThrow(/expected 2×4 = 8 input values, got 7/);
  });
});

describe('integrated gradients', () => {
  const model = randomMlp({ inputSize: 10, hidden: [16, 8], dropout: 0.2 }, 71);
  const bg = randomBackground(4, 10, 72);

  it('are complete to float64 rounding: Σ IG = f(x) − E[f(background)]', () => {
    const rng = createRng(73);
    for (let t = 0; t < 5; t++) {
      const x = normalRows(1, 10, rng);
      const e = integratedGradients(model, x, bg);
      expect(e.method).toBe('integrated-gradients');
      expect(e.baseValue).toBeCloseTo(expectedValue(model.logits, bg), 12);
      expect(Math.abs(sum(e.attributions) - (e.value - e.baseValue))).toBeLessThan(1e-10);
      expect(e.coalitions).toBeGreaterThan(4); // the paths really cross ReLU kinks
    }
  });

  it('agree with a 20,000-step midpoint Riemann sum of the analytic gradient', () => {
    const x = normalRows(1, 10, createRng(74));
    const e = integratedGradients(model, x, bg);
    const steps = 20_000;
    const ref = new Float64Array(10);
    for (let b = 0; b < bg.n; b++) {
      const base = bg.data.subarray(b * 10, b * 10 + 10);
      const acc = new Float64Array(10);
      for (let s = 0; s < steps; s++) {
        const a = (s + 0.5) / steps;
        const p = new Float64Array(10);
        for (let j = 0; j < 10; j++) p[j] = base[j]! + a * (x[j]! - base[j]!);
        const g = model.logitAndGradient(p).gradient;
        for (let j = 0; j < 10; j++) acc[j] += g[j]! / steps;
      }
      for (let j = 0; j < 10; j++) ref[j] += bg.weights[b]! * (x[j]! - base[j]!) * acc[j]!;
    }
    expect(maxAbsDiff(e.attributions, ref)).toBeLessThan(2e-3);
    expect(Math.max(...Array.from(ref, Math.abs))).toBeGreaterThan(0.1);
  });

  it('equal the Shapley values on a path with no ReLU kink (a locally linear model)', () => {
    // Tiny steps around one point stay in one linear region: both reduce to g_j·(x_j − b_j).
    const x = normalRows(1, 10, createRng(75));
    const near = backgroundFromRows(
      Array.from(x, (v, j) => v + (j % 2 ? 1e-7 : -1e-7)),
      10,
    );
    const ig = integratedGradients(model, x, near);
    const sh = exactShapley(model.logits, x, near);
    expect(ig.coalitions).toBe(1);
    expect(maxAbsDiff(ig.attributions, sh.attributions)).toBeLessThan(1e-15);
  });

  it('refuse a background of another width and cap the number of pieces', () => {
    expect(() => integratedGradients(model, new Float64Array(9), randomBackground(2, 9, 1))).toThrow(
      /10 inputs, the background 9/,
    );
    expect(() => integratedGradients(model, normalRows(1, 10, createRng(76)), bg, { maxSegments: 2 })).toThrow(
      /more than 2 linear pieces/,
    );
  });
});

describe('k-means background', () => {
  it('summarises rows by k centroids weighted by cluster share, deterministically', () => {
    const rng = createRng(81);
    const d = 3;
    const centres = [
      [0, 0, 0],
      [6, 6, 0],
      [0, 6, 6],
    ];
    const counts = [300, 200, 100];
    const rows: number[] = [];
    counts.forEach((c, k) => {
      for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) rows.push(centres[k]![j]! + rng.normal() * 0.3);
    });
    const bg = kmeansBackground(rows, d, { k: 3, rng: createRng(1) });
    expect(bg.n).toBe(3);
    expect(sum(bg.weights)).toBeCloseTo(1, 12);
    const found = Array.from({ length: 3 }, (_, i) => ({
      w: bg.weights[i]!,
      c: Array.from(bg.data.subarray(i * d, i * d + d)),
    })).sort((a, b) => b.w - a.w);
    expect(found.map((f) => f.w)).toEqual([0.5, 2 / 6, 1 / 6].map((v) => expect.closeTo(v, 12)));
    found.forEach((f, k) => f.c.forEach((v, j) => expect(Math.abs(v - centres[k]![j]!)).toBeLessThan(0.1)));
    const again = kmeansBackground(rows, d, { k: 3, rng: createRng(1) });
    expect(Array.from(again.data)).toEqual(Array.from(bg.data));
    // A subsample still gives k centroids; fewer rows than k: the rows themselves.
    expect(kmeansBackground(rows, d, { k: 3, rng: createRng(2), maxRows: 60 }).n).toBe(3);
    expect(kmeansBackground([1, 2, 3, 4, 5, 6], d, { k: 3, rng: createRng(1) }).n).toBe(2);
    expect(() => kmeansBackground([1, NaN, 3, 4, 5, 6, 7, 8, 9], d, { k: 1, rng: createRng(1) })).toThrow(/non-finite/);
  });
});
