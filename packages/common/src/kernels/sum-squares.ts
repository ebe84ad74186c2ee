/**
 * One pass over a decoded float tensor that both checks it and measures it: Σ x² in float64.
 *
 * Why one pass: at 1M parameters the aggregator used to walk every update three times after
 * copying it out of the frame (the decoder's non-finite scan, the L2 norm of the update checks,
 * the strategy's own scan). The sum of squares does the first two at once:
 *
 * - Finiteness: for float32 values x, x² ≤ (3.4e38)² ≈ 1.2e77, and a sum of up to 2^53 such
 *   squares stays below 1.1e93, far from the float64 limit 1.8e308. So the float64 sum is finite
 *   exactly when every value is finite (NaN and ±Infinity make it NaN or +Infinity). Only when it
 *   is not does `firstNonFiniteIndex` search for the culprit (the error path).
 * - The L2 norm: Math.sqrt of the result is bit for bit `l2Norm` of common/dp (same float64
 *   accumulator, same index order, same multiply-add per value), so callers may use it instead.
 *
 * Source: the L2 norm as in Abadi et al. 2016 (DP-SGD clipping); the overflow bound from IEEE 754
 * binary32/binary64 ranges.
 */

/**
 * Σ data[i]² in float64, in index order. Finite if and only if every value is finite
 * (for any Float32Array of fewer than 2^53 values). Units: the square of the values' unit.
 */
export function sumOfSquares(data: Float32Array): number {
  // Length read once: after the first ArrayBuffer detach in the process V8 re-checks `length` on
  // every read of a loop bound (see common/strategy/fedavg.ts).
  const n = data.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const x = data[i]!;
    s += x * x;
  }
  return s;
}

/** Index of the first NaN or ±Infinity in data, or -1. The slow path after `sumOfSquares` is not finite. */
export function firstNonFiniteIndex(data: Float32Array): number {
  const n = data.length;
  for (let i = 0; i < n; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
