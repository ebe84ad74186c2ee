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
 * missing from that step's sums. With DP (`privacy` in the job) the noise protects each customer;
 * the bank still applies the floor (`noised`), to the noised count: that is post-processing of
 * the DP release, so it costs no ε and reveals nothing the release does not (a floor on the TRUE
 * count would: whether a segment was emptied would then depend on exact membership, outside the DP
 * guarantee). The initialisation's coarse histogram is not suppressed: its cells are boxes of a
 * public grid, not sums (bank-client analytics/worker.ts says why).
 */
import type { SegmentStatistics } from './segments.js';

/** What was held back: segments released as empty, and the customers in them. */
export interface Suppressed {
  segments: number;
  customers: number;
}

/**
 * A copy of Lloyd statistics with every segment of 0 < count < `min` (noised: every count < `min`
 * but an exact 0) emptied: its sums (d of them), its count and its fraud count set to 0.
 * @param s per-segment sums (k×d), counts (k) and optional fraud counts (k): exact integers, or
 *   noised values with `noised`
 * @param min the fewest customers a released segment may hold (a positive integer; 1 keeps all
 *   exact segments)
 * @param o.noised the counts are noised (DP): a count at or below 0 is noise around a small
 *   segment, and is emptied too
 * @throws Error when `min` is not a positive integer
 */
export function suppressSmallSegments(
  s: SegmentStatistics,
  min: number,
  o: { noised?: boolean } = {},
): { statistics: SegmentStatistics; suppressed: Suppressed } {
  if (!(Number.isInteger(min) && min >= 1)) throw new Error(`the minimum count must be a positive integer, got ${min}`);
  const sums = new Float64Array(s.sums);
  const counts = new Float64Array(s.counts);
  const frauds = s.frauds ? new Float64Array(s.frauds) : undefined;
  const suppressed: Suppressed = { segments: 0, customers: 0 };
  for (let j = 0; j < s.k; j++) {
    const n = counts[j]!;
    if (n >= min || (o.noised ? n === 0 : n <= 0)) continue;
    suppressed.segments++;
    suppressed.customers += Math.max(0, n);
    sums.fill(0, j * s.d, (j + 1) * s.d);
    counts[j] = 0;
    if (frauds) frauds[j] = 0;
  }
  return { statistics: { k: s.k, d: s.d, sums, counts, ...(frauds ? { frauds } : {}) }, suppressed };
}
