/**
 * Coordinate-wise robust means (trimmed mean, Bulyan's second stage): for every
 * coordinate, sort the banks' values, keep a window of consecutive sorted values, and
 * average it. Besides the mean, each bank's effective weight is accumulated: the share
 * of coordinates × window slots its value filled. When equal values straddle a window
 * edge, the banks that come first (in the order given, bank-id order) are the ones kept;
 * the mean is the same whichever is kept.
 */

/** Chooses the window [start, end) of a sorted column of length n. */
export type WindowRule = (sorted: Float64Array, n: number) => [number, number];

/**
 * Per coordinate i, the mean of the window `rule` picks from the sorted values
 * deltas[0][i] … deltas[n−1][i]. Returns the mean vector and per-bank weights (summing
 * to 1 over banks). Time O(d · n log n), memory O(d + n) beyond the deltas.
 */
export function windowedMean(deltas: Float32Array[], rule: WindowRule): { step: Float64Array; weights: number[] } {
  const n = deltas.length;
  const d = deltas[0]!.length;
  const step = new Float64Array(d);
  const kept = new Float64Array(n);
  const column = new Float64Array(n);
  const sorted = new Float64Array(n);
  for (let i = 0; i < d; i++) {
    for (let b = 0; b < n; b++) column[b] = deltas[b]![i]!;
    sorted.set(column);
    sorted.sort();
    const [start, end] = rule(sorted, n);
    const size = end - start;
    let s = 0;
    for (let k = start; k < end; k++) s += sorted[k]!;
    step[i] = s / size;
    // Attribution: values strictly inside (lo, hi) are kept; of the values equal to lo
    // (or hi), as many as the window holds, first banks first.
    const lo = sorted[start]!;
    const hi = sorted[end - 1]!;
    let loSlots = 0;
    let hiSlots = 0;
    for (let k = start; k < end; k++) {
      if (sorted[k] === lo) loSlots++;
      else if (sorted[k] === hi) hiSlots++;
    }
    const share = 1 / size;
    for (let b = 0; b < n; b++) {
      const v = column[b]!;
      if (v === lo) {
        if (loSlots > 0) {
          loSlots--;
          kept[b] += share;
        }
      } else if (v === hi) {
        if (hiSlots > 0) {
          hiSlots--;
          kept[b] += share;
        }
      } else if (v > lo && v < hi) kept[b] += share;
    }
  }
  return { step, weights: Array.from(kept, (k) => k / d) };
}

/** Trimmed mean's window: drop t values from each end. */
export function trimWindow(t: number): WindowRule {
  return (_sorted, n) => [t, n - t];
}

/**
 * Bulyan's window: the β values closest to the median. They are consecutive in sorted
 * order, so the window grows from the middle one value at a time, taking whichever
 * neighbour is closer to the median (the lower one on a tie).
 */
export function closestToMedianWindow(beta: number): WindowRule {
  return (sorted, n) => {
    const mid = n >> 1;
    const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    // Window [a, e), initially empty between the two middle positions.
    let a = mid;
    let e = a;
    while (e - a < beta) {
      const left = a > 0 ? median - sorted[a - 1]! : Infinity;
      const right = e < n ? sorted[e]! - median : Infinity;
      if (left <= right) a--;
      else e++;
    }
    return [a, e];
  };
}
