/**
 * The Gaussian mechanism applied by a bank to its own update: clip to L2 norm C, then
 * add independent N(0, (Z·C)²) noise to every coordinate. The bank does this before the
 * update leaves its premises, so the aggregator only ever sees the noisy version.
 *
 * Production must pass `cryptoRng()`: with a seeded generator, anyone who learns or
 * guesses the seed can regenerate and subtract the noise. Tests pass a seeded Rng.
 *
 * Caveat: the normal variates are floating-point (Marsaglia polar method on 32-bit
 * uniforms), not an exact discrete Gaussian; floating-point sampling artefacts can in
 * principle leak a little more than the idealised mechanism (cf. Mironov 2012 on the
 * Laplace mechanism). This is the usual practice (TF Privacy, Opacus) and is accepted
 * here; an exact discrete Gaussian sampler would remove it.
 */
import type { Rng } from '../rng/index.js';
import { clipUpdate } from './clip.js';

export interface PrivatizeParams {
  /** L2 bound C of the whole update. */
  clip: number;
  /** Noise multiplier Z: the noise standard deviation is Z·C. */
  noiseMultiplier: number;
}

export interface PrivatizedUpdate {
  /** Clipped and noised update (a new array). */
  update: Float32Array;
  /** Norm of the update before clipping. Not private: keep it inside the bank. */
  norm: number;
  /** Whether clipping scaled the update. Not private either (it reveals norm > C). */
  wasClipped: boolean;
  /** Standard deviation of the noise that was added (Z·C). */
  sigma: number;
}

/**
 * Add N(0, sigma²) to every coordinate. Writes into `out` (which may be `v` itself, for
 * in-place use) or into a new array, and returns it.
 */
export function addGaussianNoise(
  v: Float32Array,
  sigma: number,
  rng: Rng,
  out: Float32Array = new Float32Array(v.length),
): Float32Array {
  if (!(Number.isFinite(sigma) && sigma >= 0))
    throw new Error(`sigma must be a non-negative finite number, got ${sigma}`);
  if (out.length !== v.length) throw new Error(`output has ${out.length} values, input has ${v.length}`);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! + sigma * rng.normal();
  return out;
}

/** Clip to `clip`, then add N(0, (noiseMultiplier·clip)²) per coordinate. */
export function privatizeUpdate(delta: Float32Array, params: PrivatizeParams, rng: Rng): PrivatizedUpdate {
  const { clip, noiseMultiplier } = params;
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
    throw new Error(`noiseMultiplier must be a non-negative finite number, got ${noiseMultiplier}`);
  }
  const { clipped, norm, wasClipped } = clipUpdate(delta, clip);
  const sigma = noiseMultiplier * clip;
  return { update: addGaussianNoise(clipped, sigma, rng, clipped), norm, wasClipped, sigma };
}
