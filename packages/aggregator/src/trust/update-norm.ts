/**
 * The norm range an update must lie in, given the DP it declares. `maxUpdateNorm` bounds
 * what a bank may move the model by; for a DP update that is the CLIPPED part (‖·‖ ≤ C),
 * while the Gaussian noise adds ≈ z·C·√d on top: with C = 1, z = 20 and 4,097 weights
 * every honest update measured ≈ 1,300 > 1,000 and 17 of 17 rounds failed (issue 12, A5).
 *
 * So for an update declaring DP (C, z):
 *   - C ≤ maxUpdateNorm (the clipped part obeys the rule),
 *   - z ≤ maxNoiseMultiplier (a huge declared z would otherwise buy a huge bound),
 *   - lower ≤ ‖u‖ ≤ max(maxUpdateNorm, C + noise bound), with the Laurent–Massart range
 *     of common/dp `dpUpdateNormRange`. The lower side catches an update that declares
 *     noise it does not carry: the privacy ledger would record ε for a release that had
 *     none, and a hostile bank could declare z only to widen its upper bound.
 * Without DP the range is [0, maxUpdateNorm] as before.
 *
 * Quantized updates (int8, float16) change the norm by ~1 % for noise-dominated vectors,
 * well inside the ±8 % the range allows at d = 4,097 and p = 1e-9.
 */
import { dpUpdateNormRange } from '@finsecure/common/dp';

/**
 * Default cap on a declared noise multiplier: 50. The project's DP table goes to z = 20;
 * beyond ~50 an update is noise with nothing left to learn, and the bound (∝ z) would let
 * a bank send a crafted update as long as that noise.
 */
export const DEFAULT_MAX_NOISE_MULTIPLIER = 50;
/** Default probability that an honest DP update falls outside its range (per side). */
export const DEFAULT_NORM_FAILURE_PROBABILITY = 1e-9;

export interface UpdateNormOptions {
  maxNoiseMultiplier?: number;
  failureProbability?: number;
}

export type UpdateNormRange = { ok: true; lower: number; upper: number; why: string } | { ok: false; reason: string };

/**
 * The accepted norm range of one update. `dp`: the DP the update declares (its `dp`
 * field: clip C, noise multiplier z), or undefined; `parameters`: the model's weight
 * count d. Returns `{ ok: true, lower, upper, why }` (why: a phrase for refusals, e.g.
 * "maxUpdateNorm 1000" or "C + noise bound for C = 1, z = 20, d = 4097") or
 * `{ ok: false, reason }` when the declared DP itself is unacceptable. Units: L2 norm of
 * the delta. Throws RangeError only for bad arguments of the aggregator's own (d < 1).
 */
export function updateNormRange(
  maxUpdateNorm: number,
  dp: { clip: number; noiseMultiplier: number } | undefined,
  parameters: number,
  options: UpdateNormOptions = {},
): UpdateNormRange {
  if (!dp || dp.noiseMultiplier === 0) {
    if (dp && dp.clip > maxUpdateNorm)
      return { ok: false, reason: `declared DP clip ${dp.clip} exceeds maxUpdateNorm ${maxUpdateNorm}` };
    return { ok: true, lower: 0, upper: maxUpdateNorm, why: `maxUpdateNorm ${maxUpdateNorm}` };
  }
  const maxZ = options.maxNoiseMultiplier ?? DEFAULT_MAX_NOISE_MULTIPLIER;
  if (dp.clip > maxUpdateNorm)
    return { ok: false, reason: `declared DP clip ${dp.clip} exceeds maxUpdateNorm ${maxUpdateNorm}` };
  if (dp.noiseMultiplier > maxZ)
    return { ok: false, reason: `declared DP noise multiplier ${dp.noiseMultiplier} exceeds the maximum ${maxZ}` };
  const r = dpUpdateNormRange(dp.clip, dp.noiseMultiplier, parameters, {
    failureProbability: options.failureProbability ?? DEFAULT_NORM_FAILURE_PROBABILITY,
  });
  const upper = Math.max(maxUpdateNorm, r.upper);
  return {
    ok: true,
    lower: r.lower,
    upper,
    why:
      upper === maxUpdateNorm
        ? `maxUpdateNorm ${maxUpdateNorm}`
        : `C + noise bound ${upper.toPrecision(5)} for C = ${dp.clip}, z = ${dp.noiseMultiplier}, d = ${parameters}`,
  };
}

/** The refusal for a norm outside the range, or null. */
export function judgeUpdateNorm(norm: number, range: Extract<UpdateNormRange, { ok: true }>): string | null {
  if (!(norm <= range.upper)) return `update norm ${norm.toPrecision(4)} exceeds ${range.why}`;
  if (norm < range.lower)
    return `update norm ${norm.toPrecision(4)} is below ${range.lower.toPrecision(4)}, the least the declared DP noise gives (the update does not carry the noise it declares)`;
  return null;
}
