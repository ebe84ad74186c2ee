/**
 * Exact Shapley values (Shapley 1953) of the interventional value function
 * (coalitions.ts), by enumerating all 2^d coalitions:
 *
 *   φ_i = Σ_{S ⊆ N∖{i}} |S|!(d−|S|−1)!/d! · (v(S ∪ {i}) − v(S))
 *
 * Cost: 2^d · (background rows) model rows, so for small d (≤ 12 by default: 4,096
 * coalitions). The reference the sampling explainer (kernel.ts) is checked against.
 */
import { checkInstance, resolveModel } from './coalitions.js';
import type { Background, Explainable, Explanation } from './types.js';

/** Above this many features exact enumeration is refused (2^20 coalitions). */
export const EXACT_SHAPLEY_HARD_LIMIT = 20;

export interface ExactShapleyOptions {
  /** Refuse above this many features (default 12, at most 20). */
  maxFeatures?: number;
}

/**
 * Exact Shapley values of the model at x against the weighted background, in its output
 * space (logits for FinSecure's models). `model`: a ModelFunction, or an MlpLogit (faster). Σ φ = f(x) − E[f(background)] exactly (up to
 * rounding). Throws if d exceeds `maxFeatures`, on shape mismatches and non-finite values.
 */
export function exactShapley(
  model: Explainable,
  x: ArrayLike<number>,
  bg: Background,
  opts: ExactShapleyOptions = {},
): Explanation {
  const max = Math.min(opts.maxFeatures ?? 12, EXACT_SHAPLEY_HARD_LIMIT);
  const xx = checkInstance(x, bg);
  const d = bg.d;
  if (d > max)
    throw new Error(`exact Shapley values enumerate 2^${d} coalitions; at most ${max} features (use kernelShap)`);
  const m = 2 ** d;
  const masks = new Uint8Array(m * d);
  for (let s = 0; s < m; s++) for (let j = 0; j < d; j++) masks[s * d + j] = (s >>> j) & 1;
  const v = resolveModel(model).values(xx, bg, masks, m);
  // weight[s] = s!(d−s−1)!/d! = 1 / (d · C(d−1, s)).
  const weight = new Float64Array(d);
  let binom = 1;
  for (let s = 0; s < d; s++) {
    weight[s] = 1 / (d * binom);
    binom = (binom * (d - 1 - s)) / (s + 1);
  }
  const phi = new Float64Array(d);
  for (let s = 0; s < m; s++) {
    let size = 0;
    for (let t = s; t; t &= t - 1) size++;
    if (size === d) continue;
    const w = weight[size]!;
    const vs = v[s]!;
    for (let i = 0; i < d; i++) if (!((s >>> i) & 1)) phi[i] += w * (v[s | (1 << i)]! - vs);
  }
  return {
    method: 'exact-shapley',
    space: 'logit',
    attributions: phi,
    baseValue: v[0]!,
    value: v[m - 1]!,
    evaluations: m * bg.n,
    coalitions: m,
  };
}
