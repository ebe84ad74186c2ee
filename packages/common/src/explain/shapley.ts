/**
 * One entry point for Shapley values: exact enumeration when few features vary, KernelSHAP
 * above (the rule the bank console uses).
 */
import type { Rng } from '../rng/index.js';
import { exactShapley } from './exact.js';
import { kernelShap } from './kernel.js';
import type { Background, Explainable, Explanation } from './types.js';

export interface ShapleyOptions {
  /** Seeds KernelSHAP's sampling (unused by exact enumeration). */
  rng: Rng;
  /** Exact enumeration up to this many features (default 12: 4,096 coalitions). */
  maxExactFeatures?: number;
  /** KernelSHAP's coalition budget (default 2d + 2048). */
  samples?: number;
}

/**
 * Shapley values of the model at x against the background, in its output space (logits):
 * `exactShapley` when d ≤ maxExactFeatures, else `kernelShap`. Σφ = f(x) − E[f(background)].
 */
export function shapley(model: Explainable, x: ArrayLike<number>, bg: Background, opts: ShapleyOptions): Explanation {
  const maxExact = opts.maxExactFeatures ?? 12;
  if (bg.d <= maxExact) return exactShapley(model, x, bg, { maxFeatures: maxExact });
  return kernelShap(model, x, bg, { rng: opts.rng, ...(opts.samples !== undefined ? { samples: opts.samples } : {}) });
}
