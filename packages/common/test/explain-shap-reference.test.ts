/**
 * Exact Shapley values and KernelSHAP (src/explain) against the `shap` package. The
 * reference values were printed by packages/common/docs/shap-reference.py (shap
 * 0.51.0, numpy 2.4.6) for two small ReLU MLPs whose weights, backgrounds and
 * transactions come from the MINSTD Lehmer generator, regenerated here with the same
 * formula. With every coalition enumerated, shap's KernelExplainer and ExactExplainer give
 * the exact Shapley values, so ours must agree to float64 rounding.
 */
import { describe, expect, it } from 'vitest';
import { MlpLogit, backgroundFromRows, exactShapley, kernelShap } from '../src/explain/index.js';
import { manifestFor, type MlpSpec } from '../src/model/index.js';
import { createRng } from '../src/rng/index.js';
import { maxAbsDiff } from './explain-helpers.js';

/** make_case() of shap-reference.py. */
function makeCase(seed: number, d: number, hidden: number[], nBackground: number, nX: number) {
  const M = 2147483647;
  let state = seed;
  const next = () => (state = (48271 * state) % M) / M;
  const sizes = [d, ...hidden, 1];
  const flat: number[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const s = 4 / Math.sqrt(sizes[i]!);
    for (let t = 0; t < sizes[i]! * sizes[i + 1]!; t++) flat.push((next() - 0.5) * s);
    for (let t = 0; t < sizes[i + 1]!; t++) flat.push((next() - 0.5) * 1.0);
  }
  const spec: MlpSpec = { inputSize: d, hidden, dropout: 0 };
  const model = new MlpLogit(spec, { data: Float32Array.from(flat), manifest: manifestFor(spec) });
  const row = () => Array.from({ length: d }, () => (next() + next() + next() + next() - 2.0) * 1.5);
  const background = Array.from({ length: nBackground }, row).flat();
  const xs = Array.from({ length: nX }, row);
  return { model, background, xs };
}

// Printed by shap-reference.py.
const EXACT6 = {
  baseValue: -0.44993942392914094,
  fx: [-0.8594717024887624, -0.3205917318727009, -0.8431299592188626],
  exactExplainer: [
    [
      -0.008120985726278826, 0.04588015156984283, -0.0615899496546817, -0.140586036102266, -0.014917176357124017,
      -0.23019828228911374,
    ],
    [
      -0.11422257829638392, 0.05750457870004609, 0.063518887017531, 0.009979263911185296, -0.002695323120541205,
      0.1152628638446027,
    ],
    [
      -0.04146148410578378, -0.06509837477291247, -0.3964956985408949, -0.11810816801543252, 0.019206202664407035,
      0.2087669874808951,
    ],
  ],
  kernelExplainer: [
    [
      -0.008120985726278828, 0.04588015156984294, -0.06158994965468173, -0.140586036102266, -0.014917176357124005,
      -0.23019828228911365,
    ],
    [
      -0.11422257829638395, 0.05750457870004609, 0.06351888701753106, 0.009979263911185322, -0.0026953231205411854,
      0.1152628638446027,
    ],
    [
      -0.041461484105783784, -0.0650983747729124, -0.3964956985408952, -0.11810816801543259, 0.019206202664407177,
      0.20876698748089517,
    ],
  ],
};
const KERNEL10 = {
  weights: [0.5, 0.3, 0.2],
  baseValue: -0.2761980995606334,
  fx: [-0.7636125534145841, -0.5053165430777198],
  kernelExplainer: [
    [
      0.026809848603346533, 0.042969999873907455, -0.010420765636423237, -0.23050257729071505, 0.1864908582322428,
      -0.13132615898407882, -0.17014204283958695, -0.21571846959538823, 0.002559290422612327, 0.011865563360132114,
    ],
    [
      0.02682489065174225, 0.01642602956211662, -0.04216535736903857, -0.0014074001639278922, 0.021548831888583142,
      0.1891578231756638, -0.05353763148030516, -0.48819218687264704, 0.04656703071887785, 0.05565952637184851,
    ],
  ],
};

describe('explainers against the shap package', () => {
  it('d = 6, uniform background of 5 rows: shap ExactExplainer and KernelExplainer', () => {
    const { model, background, xs } = makeCase(4242, 6, [5, 4], 5, 3);
    const bg = backgroundFromRows(background, 6);
    xs.forEach((x, i) => {
      const exact = exactShapley(model.logits, x, bg);
      const kernel = kernelShap(model, x, bg, { rng: createRng(1) });
      expect(exact.baseValue).toBeCloseTo(EXACT6.baseValue, 12);
      expect(exact.value).toBeCloseTo(EXACT6.fx[i]!, 12);
      expect(maxAbsDiff(exact.attributions, EXACT6.exactExplainer[i]!)).toBeLessThan(1e-12);
      expect(maxAbsDiff(kernel.attributions, EXACT6.kernelExplainer[i]!)).toBeLessThan(1e-12);
      expect(kernel.baseValue).toBeCloseTo(EXACT6.baseValue, 12);
    });
  });

  it('d = 10, weighted background of 3 rows (like shap.kmeans): shap KernelExplainer', () => {
    const { model, background, xs } = makeCase(777, 10, [8, 6], 3, 2);
    const bg = backgroundFromRows(background, 10, KERNEL10.weights);
    xs.forEach((x, i) => {
      const kernel = kernelShap(model, x, bg, { rng: createRng(1), samples: 2 ** 10 - 2 });
      const exact = exactShapley(model.logits, x, bg);
      expect(kernel.baseValue).toBeCloseTo(KERNEL10.baseValue, 12);
      expect(kernel.value).toBeCloseTo(KERNEL10.fx[i]!, 12);
      expect(maxAbsDiff(kernel.attributions, KERNEL10.kernelExplainer[i]!)).toBeLessThan(1e-12);
      expect(maxAbsDiff(exact.attributions, KERNEL10.kernelExplainer[i]!)).toBeLessThan(1e-12);
    });
  });
});
