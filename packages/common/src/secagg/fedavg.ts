/**
 * FedAvg under secure aggregation: the aggregator only learns Σᵢ of what the banks mask, so
 * each bank weights its own update before masking and sends the weight sums as two extra
 * coordinates. Gives the same step as the plaintext FedAvg strategy (strategy/fedavg.ts) with
 * step normalisation (FedNova, Wang et al. 2020) and loss weighting (q-FFL, Li et al. 2020),
 * up to the fixed-point error (fixed-point.ts: < n · 2^−f per coordinate of the weighted sum).
 *
 * Bank i, with weight wᵢ = min(nᵢ / exampleScale, 1) · clamp(Lᵢ, 1e-8, 1)^q and local steps τᵢ
 * (1 without step normalisation), masks the vector
 *     xᵢ = [ Δᵢ / τᵢ  (d coordinates),  1,  τᵢ / stepScale ]   encoded with weight wᵢ,
 * so the unmasked sum is S = [ Σ wᵢ Δᵢ/τᵢ,  Σ wᵢ,  Σ wᵢ τᵢ / stepScale ]. The aggregator's step is
 *     τ_eff · S[0..d) / S[d],   τ_eff = S[d+1] · stepScale / S[d],
 * exactly the plaintext strategy's τ_eff · Σ pᵢ Δᵢ / τᵢ with pᵢ = wᵢ / Σw. exampleScale (the largest
 * example count a selected bank declared) keeps every wᵢ ≤ 1 = fixedPoint.maxWeight; the share
 * cap (maxShare) and server momentum need individual weights or state and are refused with secure
 * aggregation on.
 */
import { localSteps, MAX_TRAINED_PER_EXAMPLE } from '../strategy/fedavg.js';

export interface SecureWeighting {
  exampleScale: number;
  lossExponent: number;
  normalizeSteps: boolean;
  stepScale: number;
  /** q of distributed DP (distributed-dp.ts): set when the round's training.dp is on. */
  dpQuorum?: number;
}

const MIN_LOSS = 1e-8;
const MAX_LOSS = 1;

/**
 * The bank's vector (length d + 2) and the weight to encode it with (in [0, 1]).
 * `numTrained`: rows trained after SMOTE. Throws RangeError for counts out of range.
 */
export function secureFedAvgInput(
  delta: Float32Array,
  counts: { numExamples: number; numTrained: number; loss: number },
  config: { epochs: number; batchSize: number },
  w: SecureWeighting,
): { values: Float64Array; weight: number; tau: number } {
  const { numExamples, numTrained, loss } = counts;
  if (!(Number.isInteger(numExamples) && numExamples >= 1))
    throw new RangeError(`numExamples ${numExamples} must be ≥ 1`);
  const examples = Math.min(numExamples / w.exampleScale, 1);
  const weight =
    w.lossExponent > 0 ? examples * Math.min(Math.max(loss, MIN_LOSS), MAX_LOSS) ** w.lossExponent : examples;
  const rows = Math.min(Math.max(numTrained, numExamples), MAX_TRAINED_PER_EXAMPLE * numExamples);
  const tau = w.normalizeSteps ? localSteps(rows, config.epochs, config.batchSize) : 1;
  const d = delta.length;
  const values = new Float64Array(d + 2);
  for (let j = 0; j < d; j++) values[j] = delta[j]! / tau;
  values[d] = 1;
  values[d + 1] = Math.min(tau / w.stepScale, 1);
  return { values, weight, tau };
}

/** The largest local step count any selected bank can have (for stepScale). */
export function secureStepScale(
  maxExamples: number,
  config: { epochs: number; batchSize: number },
  normalizeSteps: boolean,
): number {
  return normalizeSteps ? localSteps(MAX_TRAINED_PER_EXAMPLE * maxExamples, config.epochs, config.batchSize) : 1;
}

/**
 * The averaged step from the decoded sum (length d + 2). Throws RangeError when the weights
 * sum to nothing (no bank carried weight: nothing to average).
 */
export function secureFedAvgStep(
  sum: Float64Array,
  stepScale: number,
): { step: Float64Array; totalWeight: number; tauEff: number } {
  const d = sum.length - 2;
  const total = sum[d]!;
  if (!(total > 0)) throw new RangeError(`the banks' weights sum to ${total}; nothing to average`);
  const tauEff = (sum[d + 1]! * stepScale) / total;
  const step = new Float64Array(d);
  for (let j = 0; j < d; j++) step[j] = (tauEff * sum[j]!) / total;
  return { step, totalWeight: total, tauEff };
}
