/**
 * Median and MAD of a handful of numbers (one per bank): the location and scale that a
 * minority of hostile banks cannot drag (breakdown point 1/2, Hampel 1974). Used to judge
 * each bank's statistics against the consortium's.
 */

/** 1.4826 · MAD estimates the standard deviation of normal data (1 / Φ⁻¹(3/4)). */
export const MAD_TO_SD = 1.4826;

/** Median of a non-empty list (mean of the two middle values for an even count). Throws on an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation from the median (unscaled). */
export function mad(values: readonly number[], centre = median(values)): number {
  return median(values.map((v) => Math.abs(v - centre)));
}
