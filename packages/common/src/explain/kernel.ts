/**
 * KernelSHAP (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model
 * Predictions"): Shapley values as the solution of a weighted linear regression of the
 * coalition values v(S) (coalitions.ts) on the coalition masks, with the Shapley kernel
 * π(S) = (M−1) / (C(M,|S|)·|S|·(M−|S|)) and the efficiency constraint Σφ = f(x) − v(∅)
 * imposed exactly by eliminating one variable.
 *
 * Coalitions are chosen the way the reference implementation (shap's KernelExplainer)
 * does: subset sizes are visited from the outside in (1 and M−1, 2 and M−2, …); a size
 * whose coalitions all fit in the remaining budget is enumerated completely with its
 * exact kernel weight, and the rest of the budget is sampled from the remaining sizes in
 * proportion to their kernel mass, each drawn coalition paired with its complement
 * (paired sampling; Covert & Lee 2021 show it reduces variance), repeated draws adding
 * weight instead of rows. With a budget of 2^M − 2 coalitions every coalition is
 * enumerated and the result equals the exact Shapley values.
 *
 * Features whose value equals every background row's are "not varying": their Shapley
 * value is exactly 0 and they are left out of the regression (as shap does).
 */
import type { Rng } from '../rng/index.js';
import { expectedValue } from './background.js';
import { checkInstance, resolveModel } from './coalitions.js';
import { solveLinear } from './linalg.js';
import type { Background, Explainable, Explanation } from './types.js';

export interface KernelShapOptions {
  /** Seeded generator for the sampled coalitions (required: results are reproducible). */
  rng: Rng;
  /**
   * Coalition budget, pairs counted as two (default 2M + 2048, shap's default; capped at
   * 2^M − 2, where every coalition is enumerated and the result is exact).
   */
  samples?: number;
}

/** Binomial coefficient as a float64 (exact up to 2^53). */
function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * KernelSHAP attributions of the model at x against the weighted background, in its
 * output space (logits). `model`: a ModelFunction, or an MlpLogit (faster).
 * Σφ = f(x) − E[f(background)] holds exactly (up to rounding) whatever the budget; the
 * individual values converge to the exact Shapley values as the budget grows (d = 30,
 * default budget: a few % of the largest attribution, bench/explain.ts). Deterministic
 * for a given rng state. Throws on shape mismatches, non-finite values or a budget below
 * 2 coalitions. A budget too small to determine every feature (a singular regression)
 * gets the minimum-norm solution, as shap falls back to least squares.
 */
export function kernelShap(
  model: Explainable,
  x: ArrayLike<number>,
  bg: Background,
  opts: KernelShapOptions,
): Explanation {
  const xx = checkInstance(x, bg);
  const { f, values } = resolveModel(model);
  const d = bg.d;
  const fx = f(xx, 1)[0]!;
  const fnull = expectedValue(f, bg);
  if (!Number.isFinite(fx) || !Number.isFinite(fnull))
    throw new Error(`the model returned a non-finite value (f(x) = ${fx}, E[f(background)] = ${fnull})`);
  const varying: number[] = [];
  for (let j = 0; j < d; j++) {
    for (let b = 0; b < bg.n; b++) {
      if (bg.weights[b]! > 0 && bg.data[b * d + j] !== xx[j]) {
        varying.push(j);
        break;
      }
    }
  }
  const M = varying.length;
  const phi = new Float64Array(d);
  const result = (coalitions: number): Explanation => ({
    method: 'kernel-shap',
    space: 'logit',
    attributions: phi,
    baseValue: fnull,
    value: fx,
    evaluations: 1 + bg.n * (coalitions + 1),
    coalitions,
  });
  if (M === 0) return result(0);
  if (M === 1) {
    phi[varying[0]!] = fx - fnull;
    return result(0);
  }
  let budget = opts.samples ?? 2 * M + 2048;
  if (!(Number.isInteger(budget) && budget >= 2)) throw new Error(`samples must be an integer ≥ 2, got ${budget}`);
  if (M <= 30) budget = Math.min(budget, 2 ** M - 2);

  const { masks, weights, count } = chooseCoalitions(M, budget, opts.rng);
  // Masks over all d features: non-varying features take x's value (equal to the background's).
  const full = new Uint8Array(count * d).fill(1);
  for (let s = 0; s < count; s++) for (let t = 0; t < M; t++) full[s * d + varying[t]!] = masks[s * M + t]!;
  const v = values(xx, bg, full, count);

  // Eliminate the last varying feature with Σφ = fx − fnull:
  //   v(S) − fnull − z_last·Δ = Σ_{t<last} (z_t − z_last)·φ_t.
  const delta = fx - fnull;
  const k = M - 1;
  const ata = new Float64Array(k * k);
  const atb = new Float64Array(k);
  const row = new Float64Array(k);
  for (let s = 0; s < count; s++) {
    const w = weights[s]!;
    if (w === 0) continue;
    const zl = masks[s * M + k]!;
    const y = v[s]! - fnull - zl * delta;
    for (let t = 0; t < k; t++) row[t] = masks[s * M + t]! - zl;
    for (let a = 0; a < k; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      const wr = w * ra;
      atb[a] += wr * y;
      for (let b = a; b < k; b++) ata[a * k + b] += wr * row[b]!;
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) ata[a * k + b] = ata[b * k + a]!;
  let sol: Float64Array;
  try {
    sol = solveLinear(ata, atb, k);
  } catch {
    // Too few sampled coalitions to pin every feature down (small budgets only). Like
    // shap's fallback to least squares, take the (near) minimum-norm solution: a ridge
    // 1e-9 × the largest diagonal entry leaves determined directions unchanged to ~1e-9.
    let diag = 0;
    for (let a = 0; a < k; a++) diag = Math.max(diag, ata[a * k + a]!);
    const ridge = Float64Array.from(ata);
    for (let a = 0; a < k; a++) ridge[a * k + a] += 1e-9 * (diag || 1);
    sol = solveLinear(ridge, atb, k, 0);
  }
  let sum = 0;
  for (let t = 0; t < k; t++) {
    phi[varying[t]!] = sol[t]!;
    sum += sol[t]!;
  }
  phi[varying[k]!] = delta - sum;
  return result(count);
}

/**
 * shap's coalition schedule (KernelExplainer.explain): complete sizes while the budget
 * allows, then paired samples from the remaining sizes. Returns row-major count×M masks
 * and their regression weights.
 */
function chooseCoalitions(
  M: number,
  budget: number,
  rng: Rng,
): { masks: Uint8Array; weights: Float64Array; count: number } {
  const masks = new Uint8Array(budget * M);
  const weights = new Float64Array(budget);
  let count = 0;
  const sizes = Math.ceil((M - 1) / 2);
  const pairedSizes = Math.floor((M - 1) / 2);
  // Kernel mass of each size s (and its complement M−s when paired), normalised.
  const weightVector = new Float64Array(sizes);
  let total = 0;
  for (let s = 1; s <= sizes; s++) {
    weightVector[s - 1] = ((M - 1) / (s * (M - s))) * (s <= pairedSizes ? 2 : 1);
    total += weightVector[s - 1]!;
  }
  for (let i = 0; i < sizes; i++) weightVector[i] /= total;

  let fullSizes = 0;
  let left = budget;
  const remaining = Float64Array.from(weightVector);
  const comb = new Int32Array(M);
  for (let s = 1; s <= sizes; s++) {
    const paired = s <= pairedSizes;
    const nsubsets = binomial(M, s) * (paired ? 2 : 1);
    if (!((left * remaining[s - 1]!) / nsubsets >= 1 - 1e-8)) break;
    fullSizes++;
    left -= nsubsets;
    if (remaining[s - 1]! < 1) {
      const r = 1 - remaining[s - 1]!;
      for (let i = 0; i < sizes; i++) remaining[i] /= r;
    }
    const w = weightVector[s - 1]! / binomial(M, s) / (paired ? 2 : 1);
    // Every s-subset in lexicographic order (deterministic).
    for (let i = 0; i < s; i++) comb[i] = i;
    for (;;) {
      const at = count * M;
      for (let i = 0; i < s; i++) masks[at + comb[i]!] = 1;
      weights[count++] = w;
      if (paired) {
        for (let t = 0; t < M; t++) masks[count * M + t] = 1 - masks[at + t]!;
        weights[count++] = w;
      }
      let i = s - 1;
      while (i >= 0 && comb[i] === M - s + i) i--;
      if (i < 0) break;
      comb[i]!++;
      for (let t = i + 1; t < s; t++) comb[t] = comb[t - 1]! + 1;
    }
  }

  const fixed = count;
  if (fullSizes < sizes && left > 0) {
    // Sizes left, each drawn with its kernel mass (a paired draw adds two coalitions).
    const rest = new Float64Array(sizes - fullSizes);
    let restTotal = 0;
    for (let i = 0; i < rest.length; i++) {
      const s = fullSizes + 1 + i;
      rest[i] = weightVector[s - 1]! / (s <= pairedSizes ? 2 : 1);
      restTotal += rest[i]!;
    }
    const seen = new Map<string, number>();
    const perm = new Int32Array(M);
    const maxDraws = 4 * left;
    const key = (at: number) => String.fromCharCode(...masks.subarray(at, at + M));
    for (let draw = 0; draw < maxDraws && left > 0; draw++) {
      let u = rng.next() * restTotal;
      let idx = 0;
      while (idx < rest.length - 1 && u >= rest[idx]!) u -= rest[idx++]!;
      const s = fullSizes + 1 + idx;
      // A uniform s-subset: partial Fisher–Yates.
      for (let t = 0; t < M; t++) perm[t] = t;
      const at = count * M;
      masks.fill(0, at, at + M);
      for (let t = 0; t < s; t++) {
        const j = t + rng.int(M - t);
        const tmp = perm[t]!;
        perm[t] = perm[j]!;
        perm[j] = tmp;
        masks[at + perm[t]!] = 1;
      }
      const k = key(at);
      const prev = seen.get(k);
      const paired = s <= pairedSizes;
      if (prev === undefined) {
        seen.set(k, count);
        weights[count++] = 1;
        left--;
        if (paired && left > 0) {
          for (let t = 0; t < M; t++) masks[count * M + t] = 1 - masks[at + t]!;
          weights[count++] = 1;
          left--;
        }
      } else {
        weights[prev]! += 1;
        if (paired && prev + 1 < count && prev + 1 >= fixed) weights[prev + 1]! += 1;
      }
    }
    // The sampled coalitions share the kernel mass of the sizes not enumerated.
    let weightLeft = 0;
    for (let i = fullSizes; i < sizes; i++) weightLeft += weightVector[i]!;
    let sampled = 0;
    for (let i = fixed; i < count; i++) sampled += weights[i]!;
    if (sampled > 0) for (let i = fixed; i < count; i++) weights[i] *= weightLeft / sampled;
  }
  return { masks: masks.subarray(0, count * M), weights: weights.subarray(0, count), count };
}
