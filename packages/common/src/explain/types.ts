/**
 * Shapes shared by the explainers. Everything is float64 and row-major; a "row" is one
 * transaction's feature vector in the space the model consumes (the scaled features).
 */

/**
 * The model being explained: n rows of d features (row-major, `rows.length === n·d`) →
 * n scores. FinSecure explains in the LOGIT space (the MLP's output before the sigmoid):
 * logits are additive, do not saturate at 0 and 1, and make attributions of different
 * transactions comparable. Pass `MlpLogit.logits` (or any function returning logits).
 */
export type ModelFunction = (rows: Float64Array, n: number) => ArrayLike<number>;

/**
 * The reference distribution "feature j is unknown" is averaged over: n rows of d
 * features with weights summing to 1 (e.g. k-means centroids weighted by cluster size).
 */
export interface Background {
  readonly data: Float64Array;
  readonly n: number;
  readonly d: number;
  /** n non-negative weights, sum 1. */
  readonly weights: Float64Array;
}

export type ExplanationMethod = 'exact-shapley' | 'kernel-shap' | 'integrated-gradients';

/**
 * Attributions of one transaction. Efficiency (completeness for integrated gradients):
 * Σ attributions = value − baseValue, up to float64 rounding.
 */
export interface Explanation {
  method: ExplanationMethod;
  /** Always 'logit': attributions are in log-odds of fraud. */
  space: 'logit';
  /** d attributions, in feature order. */
  attributions: Float64Array;
  /** E[f(background)]: the weighted mean logit of the background. */
  baseValue: number;
  /** f(x): the transaction's logit. */
  value: number;
  /** Rows passed to the model (coalitions × background rows), or gradient passes for IG. */
  evaluations: number;
  /** Coalitions evaluated (Shapley methods), path segments (integrated gradients). */
  coalitions: number;
}

/**
 * A model that computes coalition values itself, faster than row by row (MlpLogit uses
 * the linearity of its first layer). Same contract as coalitions.ts `coalitionValues`.
 */
export interface CoalitionModel {
  logits: ModelFunction;
  coalitionValues(x: Float64Array, bg: Background, masks: Uint8Array, m: number): Float64Array;
}

/** What the Shapley explainers accept: a plain model function or a CoalitionModel. */
export type Explainable = ModelFunction | CoalitionModel;
