/**
 * L2 clipping of a whole model update: the step that bounds one bank's influence (the
 * sensitivity of the Gaussian mechanism) before noise is added.
 */

export interface ClipResult {
  /** A new array; the input is never modified. */
  clipped: Float32Array;
  /** L2 norm of the input, before clipping. */
  norm: number;
  /** True when the input norm exceeded the bound and the update was scaled down. */
  wasClipped: boolean;
}

/**
 * Euclidean norm, accumulated in double precision. For float32 inputs the sum of
 * squares cannot overflow (at most (3.4e38)² × 2^32 ≈ 5e86 < 1.8e308).
 */
export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/**
 * Scale `delta` by min(1, C / ‖delta‖). The DP guarantee needs ‖clipped‖ ≤ C exactly,
 * and rounding the scaled values to float32 can overshoot C by a few ulps, so the
 * result is checked in double precision and shrunk by one float32 ulp at a time until it
 * fits (in practice at most once).
 */
export function clipUpdate(delta: Float32Array, clip: number): ClipResult {
  if (!(Number.isFinite(clip) && clip > 0)) throw new Error(`clip bound must be a positive finite number, got ${clip}`);
  const norm = l2Norm(delta);
  if (!Number.isFinite(norm)) throw new Error('cannot clip an update with non-finite values');
  if (norm <= clip) return { clipped: Float32Array.from(delta), norm, wasClipped: false };
  let factor = clip / norm;
  const clipped = new Float32Array(delta.length);
  for (let attempt = 0; attempt < 64; attempt++) {
    for (let i = 0; i < delta.length; i++) clipped[i] = delta[i]! * factor;
    if (l2Norm(clipped) <= clip) return { clipped, norm, wasClipped: true };
    factor *= 1 - 2 ** -23;
  }
  throw new Error('clipping did not converge (this is a bug)');
}
