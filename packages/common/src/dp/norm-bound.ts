/**
 * How long can an honest DP update be? A bank that applies the Gaussian mechanism sends
 * u = clipped + n with ‖clipped‖ ≤ C and n ~ N(0, σ² I_d), σ = z·C. The noise dominates:
 * ‖n‖ ≈ σ√d, so with C = 1, z = 20 and the 4,097-parameter MLP every honest update has a
 * norm near 1,280, above the aggregator's default `maxUpdateNorm` of 1,000, and a fixed
 * norm check rejects every round. The aggregator must judge the clipped part against
 * `maxUpdateNorm` and the noise against what the declared (C, z, d) make likely.
 *
 * Method: ‖n‖²/σ² is chi-square with d degrees of freedom, and Laurent & Massart's
 * bounds ("Adaptive estimation of a quadratic functional by model selection", Annals of
 * Statistics 28(5), 2000, Lemma 1) give, for every x > 0,
 *
 *     P( X − d ≥ 2√(d·x) + 2x ) ≤ e^(−x)      and      P( d − X ≥ 2√(d·x) ) ≤ e^(−x).
 *
 * With the triangle inequality ‖n‖ − C ≤ ‖u‖ ≤ ‖n‖ + C this gives a two-sided range that
 * an honest update leaves with probability at most 2·e^(−x) (each side e^(−x)).
 */

export interface DpNormBoundOptions {
  /**
   * Probability that an honest update falls outside the bound (per side for
   * `dpUpdateNormRange`). Default 1e-9: with thousands of banks × rounds an honest
   * update should essentially never be refused.
   */
  failureProbability?: number;
}

export interface DpNormRange {
  /** ‖u‖ is at least this with probability ≥ 1 − p (0 when the noise is too small to tell). */
  lower: number;
  /** ‖u‖ is at most this with probability ≥ 1 − p. */
  upper: number;
  /** σ = z·C, the standard deviation of the noise per coordinate. */
  sigma: number;
  /** The high-probability bound of the noise norm ‖n‖ alone (upper side). */
  noiseUpper: number;
}

function checkParams(clip: number, noiseMultiplier: number, dimension: number, p: number): void {
  if (!(Number.isFinite(clip) && clip > 0)) throw new RangeError(`clip C must be a finite number > 0, got ${clip}`);
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0))
    throw new RangeError(`noise multiplier z must be a finite number ≥ 0, got ${noiseMultiplier}`);
  if (!(Number.isInteger(dimension) && dimension >= 1))
    throw new RangeError(`dimension d must be an integer ≥ 1, got ${dimension}`);
  if (!(p > 0 && p < 1)) throw new RangeError(`failureProbability must be in (0, 1), got ${p}`);
}

/**
 * High-probability upper bound of ‖clipped + N(0, (z·C)² I_d)‖ for an update clipped to
 * L2 norm C (Laurent–Massart 2000, upper tail):
 *
 *     C + z·C·√(d + 2√(d·x) + 2x),   x = ln(1 / failureProbability).
 *
 * An honest update exceeds it with probability at most `failureProbability`.
 * Units: the same as the update's weights (L2 norm). z = 0 gives C.
 * Throws RangeError for C ≤ 0, z < 0, a non-integer d < 1 or p outside (0, 1).
 *
 * Example: C = 1, z = 20, d = 4,097, p = 1e-9 → ≈ 1,375 (honest norms are ≈ 1,280).
 */
export function dpUpdateNormBound(
  clip: number,
  noiseMultiplier: number,
  dimension: number,
  options: DpNormBoundOptions = {},
): number {
  return dpUpdateNormRange(clip, noiseMultiplier, dimension, options).upper;
}

/**
 * Both sides of the honest range of ‖clipped + noise‖ (see the module comment):
 *
 *     lower = max(0, z·C·√(max(0, d − 2√(d·x))) − C),   upper = C + z·C·√(d + 2√(d·x) + 2x).
 *
 * The lower side lets the aggregator notice an update that declares noise it does not
 * carry (its privacy ledger would otherwise record ε for a release that had none), or a
 * hostile bank that declares a huge z to widen its upper bound and then sends a short,
 * targeted update instead of noise. Each side fails for an honest bank with probability
 * at most `failureProbability`. Same errors as `dpUpdateNormBound`.
 */
export function dpUpdateNormRange(
  clip: number,
  noiseMultiplier: number,
  dimension: number,
  options: DpNormBoundOptions = {},
): DpNormRange {
  const p = options.failureProbability ?? 1e-9;
  checkParams(clip, noiseMultiplier, dimension, p);
  const d = dimension;
  const x = Math.log(1 / p);
  const sigma = noiseMultiplier * clip;
  const noiseUpper = sigma * Math.sqrt(d + 2 * Math.sqrt(d * x) + 2 * x);
  const noiseLower = sigma * Math.sqrt(Math.max(0, d - 2 * Math.sqrt(d * x)));
  return { lower: Math.max(0, noiseLower - clip), upper: clip + noiseUpper, sigma, noiseUpper };
}
