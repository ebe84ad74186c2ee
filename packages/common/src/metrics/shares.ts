/**
 * Each bank's share of the federation's evaluation, and a cap on it. Global metrics are
 * computed from SUMMED counts (global.ts), so a bank's influence on them is its share of
 * the pooled test examples: a bank reporting 90 % of them defines the committed AUPRC
 * whatever the others see. The dashboard shows the shares (so nobody mistakes one
 * bank's figure for the consortium's), and `capEvaluationReports` scales a dominant
 * bank's counts down to at most `maxShare` of the total before they are summed.
 *
 * The cap is the same water-filling as FedAvg's `maxShare` (strategy/share-cap.ts): the
 * fewest, largest banks are lowered, each to the same count c with c / Σ min(n_i, c) =
 * maxShare. With k banks and maxShare < 1/k the cap cannot be met and every bank gets the
 * smallest one's count (equal weights).
 */
import type { Confusion } from '../protocol/messages.js';
import type { HistogramView } from './histogram.js';
import { shareCap } from '../strategy/share-cap.js';

/**
 * Default cap on a bank's share of the pooled evaluation: 0.5, so that no single bank
 * outweighs all the others together (with two banks: equal weights). An honest
 * consortium where one bank holds most of the test data gets a global figure closer to
 * the mean of the banks than to the pooled one; raise the cap (to 1 to switch it off)
 * when that bank is trusted.
 */
export const DEFAULT_EVALUATION_MAX_SHARE = 0.5;

export interface EvaluationShare {
  bankId: string;
  /** Test examples the bank reported. */
  numExamples: number;
  /** Its share of the pooled reported examples, in [0, 1]. */
  share: number;
  /** Its share after the cap (what the global metrics use). */
  cappedShare: number;
  /** Factor its counts are multiplied by (1 = not capped). */
  scale: number;
}

/**
 * Shares of the pooled evaluation per bank, before and after the cap `maxShare` in
 * (0, 1] (default 1: no cap). Input: one entry per bank with its reported test-example
 * count (a non-negative finite number). Output in the input order. Banks with 0 examples
 * have share 0 and do not take part in the cap. Throws on a bad count or maxShare.
 */
export function evaluationShares(
  perBank: readonly { bankId: string; numExamples: number }[],
  maxShare = 1,
): EvaluationShare[] {
  for (const b of perBank)
    if (!(Number.isFinite(b.numExamples) && b.numExamples >= 0))
      throw new Error(`bank ${b.bankId}: numExamples must be a non-negative number, got ${b.numExamples}`);
  const total = perBank.reduce((s, b) => s + b.numExamples, 0);
  const cap = shareCap(
    perBank.filter((b) => b.numExamples > 0).map((b) => b.numExamples),
    maxShare,
  );
  const effective = perBank.map((b) => Math.min(b.numExamples, cap));
  const effectiveTotal = effective.reduce((s, e) => s + e, 0);
  return perBank.map((b, i) => ({
    bankId: b.bankId,
    numExamples: b.numExamples,
    share: total > 0 ? b.numExamples / total : 0,
    cappedShare: effectiveTotal > 0 ? effective[i]! / effectiveTotal : 0,
    scale: b.numExamples > 0 ? effective[i]! / b.numExamples : 1,
  }));
}

/** An evaluation report as the federation keeps it (global.ts `MetricsReport` plus the bank). */
export interface BankEvaluationReport {
  bankId: string;
  numExamples: number;
  confusion: Confusion;
  histogram: HistogramView;
  loss: number;
}

/**
 * Splits the integer `total` in proportion to `parts` (largest remainder, Hamilton's
 * method): each result is within 1 of the exact share and they add up to `total`.
 */
function apportion(total: number, counts: ArrayLike<number>): number[] {
  const parts = Array.from(counts);
  const sum = parts.reduce((s, x) => s + x, 0);
  if (sum === 0) return parts.map(() => 0);
  const exact = parts.map((x) => (x / sum) * total);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((s, x) => s + x, 0);
  const order = exact.map((_, i) => i).sort((a, b) => exact[b]! - out[b]! - (exact[a]! - out[a]!) || a - b);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]!]!++;
  return out;
}

/**
 * One report with its positives multiplied by `sp` and its negatives by `sn` (both ≤ 1),
 * kept integral and consistent (tp + fn = Σ positives, fp + tn = Σ negatives).
 */
function scaleReport<R extends BankEvaluationReport>(r: R, sp: number, sn: number): R {
  if (sp >= 1 && sn >= 1) return r;
  const c = r.confusion;
  const positives = Math.round((c.tp + c.fn) * Math.min(1, sp));
  const negatives = Math.round((c.fp + c.tn) * Math.min(1, sn));
  const [tp, fn] = apportion(positives, [c.tp, c.fn]) as [number, number];
  const [fp, tn] = apportion(negatives, [c.fp, c.tn]) as [number, number];
  return {
    ...r,
    numExamples: positives + negatives,
    confusion: { tp, fp, tn, fn },
    histogram: {
      ...r.histogram,
      positives: apportion(positives, r.histogram.positives),
      negatives: apportion(negatives, r.histogram.negatives),
    },
  };
}

/**
 * The reports to sum into the global metrics, with each bank's share capped at
 * `maxShare` (default DEFAULT_EVALUATION_MAX_SHARE), plus the shares for the dashboard.
 * The cap applies to each class separately, to the bank's share of the pooled frauds
 * (positives) and of the pooled legitimate examples (negatives): precision–recall
 * metrics are driven by the positives, and a report that is all frauds (the forged one
 * of issue 12) would otherwise keep most of the PR curve with half of the examples.
 * A capped class's confusion counts and histogram are scaled down together (largest
 * remainder rounding, so they stay integral and tp + fn still equals the histogram's
 * positives); the loss, a mean, is unchanged. `shares` are per example (for display).
 * Reports must already have passed `checkEvaluation`. Returns new objects for capped
 * banks and the same objects for the others; the input is not modified.
 */
export function capEvaluationReports<R extends BankEvaluationReport>(
  reports: readonly R[],
  maxShare: number = DEFAULT_EVALUATION_MAX_SHARE,
): { reports: R[]; shares: EvaluationShare[] } {
  const shares = evaluationShares(reports, maxShare);
  const classShares = (count: (c: Confusion) => number) =>
    evaluationShares(
      reports.map((r) => ({ bankId: r.bankId, numExamples: count(r.confusion) })),
      maxShare,
    );
  const pos = classShares((c) => c.tp + c.fn);
  const neg = classShares((c) => c.fp + c.tn);
  return { reports: reports.map((r, i) => scaleReport(r, pos[i]!.scale, neg[i]!.scale)), shares };
}
