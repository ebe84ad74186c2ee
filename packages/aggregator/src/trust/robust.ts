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

/**
 * "The median of the others" for every member of a list at once: sort once (O(n log n)), then
 * each member's median over the list without one copy of its own value is read off by skipping
 * its rank. Computing it per member by filtering and sorting was O(n² log n): 15 s of CPU per
 * round at 10,000 banks (issue 14). `of(value)` returns null when the list has one element only.
 */
export class MedianOfOthers {
  private readonly sorted: number[];

  constructor(values: Iterable<number>) {
    this.sorted = [...values].sort((a, b) => a - b);
  }

  /** The median of the list with one occurrence of `value` left out (value must be in the list). */
  of(value: number): number | null {
    const s = this.sorted;
    const m = s.length - 1;
    if (m <= 0) return null;
    // The first index holding `value` (binary search); equal values are interchangeable.
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    const skip = lo;
    const at = (i: number) => s[i < skip ? i : i + 1]!;
    return m % 2 ? at(m >> 1) : (at(m / 2 - 1) + at(m / 2)) / 2;
  }

  /** The median of the whole list (for a member not in it). Null for an empty list. */
  all(): number | null {
    const s = this.sorted;
    if (s.length === 0) return null;
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  }
}
