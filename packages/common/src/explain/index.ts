/**
 * Explanations of fraud scores, for the analysts of one bank: exact Shapley values,
 * KernelSHAP (paired sampling, seeded), integrated gradients of the MLP, k-means
 * backgrounds, and reasons in words. Everything is in the LOGIT space (log-odds of
 * fraud), with Σ attributions = f(x) − E[f(background)]. Pure and seeded: no IO,
 * randomness only from the Rng passed in.
 *
 * Typical use (one transaction, d = 30):
 *
 *   const model = new MlpLogit(spec, weights);
 *   const bg = kmeansBackground(scaledRows, d, { k: 8, rng: createRng(1) });   // once per model
 *   const e = shapley(model, scaledX, bg, { rng: createRng(2) });      // or integratedGradients(model, scaledX, bg)
 *   const { reasons, bars } = describeReasons(e.attributions, names, rawX, scaler, { top: 3 });
 *
 * Speed (bench/explain.ts, d = 30, 8 centroids): integrated gradients take a few ms.
 * KernelSHAP's 2,108 coalitions × 8 rows are ~4× faster evaluated by TF.js (wasm SIMD)
 * than by the plain-TypeScript MlpLogit; a process that has the backend loaded passes
 * `(rows, n) => trainer.predictWithLogits(Float32Array.from(rows), n).logits` instead of
 * `model` (float32 logits; the bench reports how little the attributions differ).
 */
export type {
  Background,
  CoalitionModel,
  Explainable,
  Explanation,
  ExplanationMethod,
  ModelFunction,
} from './types.js';
export { MlpLogit } from './mlp.js';
export { backgroundFromRows, kmeansBackground, expectedValue, type KMeansBackgroundOptions } from './background.js';
export { coalitionValues, resolveModel } from './coalitions.js';
export { exactShapley, EXACT_SHAPLEY_HARD_LIMIT, type ExactShapleyOptions } from './exact.js';
export { kernelShap, type KernelShapOptions } from './kernel.js';
export { shapley, type ShapleyOptions } from './shapley.js';
export { integratedGradients, type IntegratedGradientsOptions } from './integrated-gradients.js';
export {
  describeReasons,
  describeAttribution,
  type AttributionReason,
  type AttributionBar,
  type ReasonsOptions,
  type ReasonsResult,
  type ScalerLike,
} from './reasons.js';
