/**
 * Small-cell suppression for a bank's exact (un-noised) Lloyd answers: a segment holding fewer
 * than `min` customers, but some, is released as empty. Without differential privacy a Lloyd
 * answer's per-segment sum over a one-customer segment IS that customer's feature vector, and
 * ordinary k-means isolates outliers by itself. Suppression keeps such an accident out of an exact
 * answer; it does not stop an aggregator that chooses the centres on purpose, which can difference
 * exact answers (the released complement against the exact moments, or two answers whose
 * centres differ by one customer). That is why a bank answers exact stages only when its own
 * config allows them (bank-client analytics/worker.ts, `segmentExact`), and DP otherwise.
 *
 * This is the threshold (minimum frequency) rule of statistical disclosure control for frequency
 * tables (Hundepool et al., "Statistical Disclosure Control", Wiley 2012), applied by the bank
 * with a minimum the bank sets: the job's own `minCustomers` comes from the aggregator.
 *
 * A suppressed segment counts as empty in the merged Lloyd step (federated.ts keeps its previous
 * centre when every bank's count is zero), so the job still converges; its customers are only
 * missing from that step's sums. With DP (`privacy` in the job) the noise protects each customer
 * and nothing is suppressed. The initialisation's coarse histogram is not suppressed: its cells
 * are boxes of a public grid, not sums (bank-client analytics/worker.ts says why).
 */
import type { SegmentStatistics } from './segments.js';

/** What was held back: segments released as empty, and the customers in them. */
export interface Suppressed {
  segments: number;
  customers: number;
}

/**
 * A copy of exact Lloyd statistics with every segment of 0 < count < `min` emptied: its sums
 * (d of them), its count and its fraud count set to 0.
 * @param s per-segment sums (k×d), counts (k) and optional fraud counts (k), exact integers
 * @param min the fewest customers a released segment may hold (a positive integer; 1 keeps all)
 * @throws Error when `min` is not a positive integer
 */
export function suppressSmallSegments(
  s: SegmentStatistics,
  min: number,
): { statistics: SegmentStatistics; suppressed: Suppressed } {
  if (!(Number.isInteger(min) && min >= 1)) throw new Error(`the minimum count must be a positive integer, got ${min}`);
  const sums = new Float64Array(s.sums);
  const counts = new Float64Array(s.counts);
  const frauds = s.frauds ? new Float64Array(s.frauds) : undefined;
  const suppressed: Suppressed = { segments: 0, customers: 0 };
  for (let j = 0; j < s.k; j++) {
    const n = counts[j]!;
    if (n <= 0 || n >= min) continue;
    suppressed.segments++;
    suppressed.customers += n;
    sums.fill(0, j * s.d, (j + 1) * s.d);
    counts[j] = 0;
    if (frauds) frauds[j] = 0;
  }
  return { statistics: { k: s.k, d: s.d, sums, counts, ...(frauds ? { frauds } : {}) }, suppressed };
}
