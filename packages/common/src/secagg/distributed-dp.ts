/**
 * Distributed differential privacy under secure aggregation: each bank adds only its SHARE of the
 * Gaussian noise, and the masked sum carries the whole of it (the idea of Kairouz, Liu & Steinke
 * 2021, "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
 * Aggregation"; here the continuous Gaussian, then the fixed-point stochastic rounding of
 * fixed-point.ts, see "What is not covered" below).
 *
 * Bank i, with secure FedAvg weight wᵢ ∈ (0, 1] and local steps τᵢ ≥ 1 (fedavg.ts), masks
 *     yᵢ = wᵢ · clip_C(Δᵢ) / τᵢ + Nᵢ,   Nᵢ ~ N(0, σ_share² I),  σ_share = z·C / √q,
 * where clip_C is the L2 clip of the whole update (dp/clip.ts) and q the round's quorum.
 *
 * Sensitivity: ‖wᵢ · clip_C(Δᵢ) / τᵢ‖₂ ≤ C because wᵢ ≤ 1 (exampleScale is the largest declared
 * example count) and τᵢ ≥ 1. Adding or removing one bank's contribution therefore moves the sum
 * S = Σ_{i∈U} yᵢ by at most C in L2.
 *
 * Guarantee: if at least q honest banks survive into the sum U, Σ_{i∈U} Nᵢ ~ N(0, |U|·σ_share²) with
 * |U|·σ_share² ≥ (zC)², so S is the Gaussian mechanism with noise multiplier ≥ z on sensitivity C:
 * bank-level (ε, δ)-DP per round exactly as one bank adding N(0, (zC)²) alone (the RDP accountant is
 * fed z). The aggregator's division by Σw, its step size and the model it publishes are
 * post-processing. Assumptions: (1) secure aggregation holds (honest majority of each
 * neighbourhood, t > half of it), so the aggregator only ever sees S; (2) the other banks in the
 * sum add their share honestly: noise from colluding or dishonest banks does not count, so against
 * k colluders the guarantee is that of multiplier z·√((|U| − k)/q); (3) noise is added before
 * masking, inside the bank.
 *
 * What is not covered: the two clear weight coordinates (Σw, Σw·τ/stepScale: aggregate example
 * counts and losses, as in plain DP); the fixed-point stochastic rounding (error < 2^−f per
 * coordinate per bank, applied to the noisy value; an exact treatment would use the discrete
 * Gaussian with conditional rounding, as Kairouz et al. do); a coordinate that the fixed-point clip
 * (secaggClip) cuts, which `requiredSecaggClip` makes a < 2·10⁻⁹ event per coordinate.
 */
import { clipUpdate } from '../dp/clip.js';
import type { Rng } from '../rng/index.js';
import { secureFedAvgInput, type SecureWeighting } from './fedavg.js';

export interface DistributedDpParams {
  /** C: L2 bound of the whole update (before weighting). */
  clip: number;
  /** z: noise multiplier of the SUM (what the accountant records). */
  noiseMultiplier: number;
  /** q: the round's quorum; any q shares add up to the full noise. Integer ≥ 1. */
  quorum: number;
}

/** k: the fixed-point clip must cover the signal plus k standard deviations of one bank's noise. */
export const NOISE_COVERAGE_SIGMAS = 6;

/** σ_share = z·C / √q: the standard deviation of one bank's share, per coordinate. Throws RangeError. */
export function noiseShareSigma(p: DistributedDpParams): number {
  if (!(Number.isFinite(p.clip) && p.clip > 0)) throw new RangeError(`dp clip ${p.clip} must be positive`);
  if (!(Number.isFinite(p.noiseMultiplier) && p.noiseMultiplier >= 0))
    throw new RangeError(`dp noiseMultiplier ${p.noiseMultiplier} must be ≥ 0`);
  if (!(Number.isInteger(p.quorum) && p.quorum >= 1)) throw new RangeError(`quorum ${p.quorum} must be an integer ≥ 1`);
  return (p.noiseMultiplier * p.clip) / Math.sqrt(p.quorum);
}

/**
 * The smallest fixed-point clip (rules.secaggClip, per coordinate) that keeps a bank's noisy
 * coordinate uncut but with probability < 2·10⁻⁹: C (the largest a weighted, clipped coordinate
 * can be) + 6·σ_share.
 */
export function requiredSecaggClip(p: DistributedDpParams): number {
  return p.clip + NOISE_COVERAGE_SIGMAS * noiseShareSigma(p);
}

/**
 * Why `secaggClip` cannot carry this noise, naming the settings to change; null when it can.
 */
export function distributedDpClipIssue(secaggClip: number, p: DistributedDpParams): string | null {
  const need = requiredSecaggClip(p);
  // A relative 1e-9 of slack: 2 + 6·1.1 is 8.600000000000001 in floating point, and "8.6" must pass.
  if (secaggClip >= need * (1 - 1e-9)) return null;
  return (
    `secaggClip ${secaggClip} cannot carry distributed DP noise: each bank adds N(0, σ²) with σ = z·C/√quorum = ` +
    `${p.noiseMultiplier}·${p.clip}/√${p.quorum} = ${noiseShareSigma(p).toPrecision(4)} per coordinate, so secaggClip ` +
    `must be ≥ C + ${NOISE_COVERAGE_SIGMAS}σ = ${need.toPrecision(4)}; raise secaggClip (or set it to 0 = automatic), ` +
    `or lower dp.noiseMultiplier / dp.clip, or raise quorum`
  );
}

/**
 * The bank's secure FedAvg input with its noise share, ready to encode with weight 1 (the weight is
 * already applied): [wΔ_C/τ + N (d coordinates), w, w·τ/stepScale]. `delta` is the raw (unclipped)
 * update; `rng` draws the noise (production: cryptoRng()). Throws RangeError for bad parameters.
 */
export function distributedDpInput(
  delta: Float32Array,
  counts: { numExamples: number; numTrained: number; loss: number },
  config: { epochs: number; batchSize: number },
  weighting: SecureWeighting,
  dp: DistributedDpParams,
  rng: Rng,
): { values: Float64Array; weight: number; tau: number; wasClipped: boolean; sigmaShare: number } {
  const sigma = noiseShareSigma(dp);
  const { clipped, wasClipped } = clipUpdate(delta, dp.clip);
  const input = secureFedAvgInput(clipped, counts, config, weighting);
  const { values, weight } = input;
  const d = delta.length;
  for (let j = 0; j < d; j++) values[j] = weight * values[j]! + sigma * rng.normal();
  values[d] = weight;
  values[d + 1] = weight * values[d + 1]!;
  return { values, weight, tau: input.tau, wasClipped, sigmaShare: sigma };
}
