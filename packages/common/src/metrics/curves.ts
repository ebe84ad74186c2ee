/**
 * Ranking metrics from a (summed) score histogram. Thresholds are the bin edges: at edge
 * k, every transaction in bins k..B-1 is predicted fraud. Everything inside one bin is
 * treated as tied, so each metric here equals the exact metric of the scores rounded down
 * to their bin's lower edge; the only error is how the bin orders its own members.
 * That error is bounded by `auprcBinningErrorBound` / `rocAucBinningErrorBound`, which
 * are computed from the histogram alone. The ROC AUC bound is attained by some ordering;
 * the AUPRC bound is an upper bound that may exceed the worst ordering (up to about twice,
 * when few positives share a bin), since it takes each positive's worst case separately.
 *
 * Undefined metrics (no positives, or for ROC AUC no negatives) are reported as 0, as in
 * confusion.ts.
 */
import { checkHistogram, type HistogramView } from './histogram.js';
import { lowerEdgeLogit, sigmoid } from './layout.js';

export interface OperatingPoint {
  /** Predict fraud when probability >= threshold: σ of the bin edge's logit. */
  threshold: number;
  /** The bin edge as a logit (−Infinity: everything predicted; +Infinity: nothing). */
  logit: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Counts at or above each edge: tp[k] = positives in bins k..B-1, fp[k] likewise.
 * tp[B] = fp[B] = 0 (nothing predicted), tp[0] = all positives.
 */
interface Cumulative {
  bins: number;
  tp: Float64Array;
  fp: Float64Array;
  positives: number;
  negatives: number;
}

function cumulative(h: HistogramView): Cumulative {
  checkHistogram(h);
  const B = h.bins;
  const tp = new Float64Array(B + 1);
  const fp = new Float64Array(B + 1);
  for (let k = B - 1; k >= 0; k--) {
    tp[k] = tp[k + 1]! + h.positives[k]!;
    fp[k] = fp[k + 1]! + h.negatives[k]!;
  }
  return { bins: B, tp, fp, positives: tp[0]!, negatives: fp[0]! };
}

/**
 * Average precision (sklearn's definition, step interpolation): the sum over edges of
 * (recall gained at that edge) × (precision at that edge). No linear interpolation of
 * the PR curve, which would be optimistic.
 */
export function auprcFromHistogram(h: HistogramView): number {
  checkHistogram(h);
  // One pass from the top edge down, with the running counts at or above the edge, and no
  // arrays: the aggregator computes this for every bank's evaluation (issue 14 item 1).
  // Σ_k (p_k / P) · tp_k / (tp_k + fp_k) = (Σ_k p_k · tp_k / (tp_k + fp_k)) / P.
  let tp = 0;
  let fp = 0;
  let sum = 0;
  for (let k = h.bins - 1; k >= 0; k--) {
    const p = h.positives[k]!;
    tp += p;
    fp += h.negatives[k]!;
    if (p > 0) sum += (p * tp) / (tp + fp);
  }
  return tp === 0 ? 0 : sum / tp;
}

/**
 * ROC AUC by the trapezoid rule over the edges; equivalently the probability that a
 * random fraud scores above a random legitimate transaction, same-bin pairs counting ½.
 */
export function rocAucFromHistogram(h: HistogramView): number {
  const c = cumulative(h);
  if (c.positives === 0 || c.negatives === 0) return 0;
  let pairs = 0;
  for (let k = 0; k < c.bins; k++) {
    const n = h.negatives[k]!;
    if (n > 0) pairs += n * (c.tp[k + 1]! + h.positives[k]! / 2);
  }
  return pairs / (c.positives * c.negatives);
}

/**
 * The edge with the highest F1 (the highest such edge on ties, i.e. the fewest alerts).
 * With no positives every F1 is 0 and the result is threshold 1 (logit +Infinity) with
 * zeros. The probability threshold is σ(edge logit) in float64; near saturation several
 * edges map to the same float32 probability, so apply it to logits where possible.
 */
export function bestF1FromHistogram(h: HistogramView): OperatingPoint {
  const c = cumulative(h);
  let best: OperatingPoint = { threshold: 1, logit: Infinity, precision: 0, recall: 0, f1: 0 };
  for (let k = c.bins - 1; k >= 0; k--) {
    const tp = c.tp[k]!;
    const predicted = tp + c.fp[k]!;
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = c.positives > 0 ? tp / c.positives : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) {
      const z = lowerEdgeLogit(k, c.bins);
      best = { threshold: sigmoid(z), logit: z, precision, recall, f1 };
    }
  }
  return best;
}

/**
 * The highest recall reachable at an edge whose false-positive rate is at most `maxFpr`
 * (e.g. "what share of fraud do we catch if we may flag 0.1 % of legitimate traffic").
 * FPR is taken as 0 when there are no negatives.
 */
export function recallAtFprFromHistogram(h: HistogramView, maxFpr: number): number {
  if (!(maxFpr >= 0 && maxFpr <= 1)) throw new Error(`maxFpr must be in [0, 1], got ${maxFpr}`);
  const c = cumulative(h);
  if (c.positives === 0) return 0;
  // tp and fp only grow as the edge goes down, so the lowest admissible edge is best.
  let recall = 0;
  for (let k = c.bins; k >= 0; k--) {
    const fpr = c.negatives > 0 ? c.fp[k]! / c.negatives : 0;
    if (fpr > maxFpr) break;
    recall = c.tp[k]! / c.positives;
  }
  return recall;
}

/**
 * An upper bound on |AP of the raw scores − auprcFromHistogram(h)| over every way the
 * scores inside each bin could be ordered (safe, not tight). A positive in bin k, with x
 * positives and y transactions in the bins above, has exact precision (x+a)/(y+a+b) for
 * some 1 ≤ a ≤ P_k (positives of the bin at or above it) and 0 ≤ b ≤ N_k (negatives of
 * the bin at or above it); the histogram uses a = P_k, b = N_k. The bound takes the worst
 * such a, b per positive, though a bin's positives cannot all be at their worst at once
 * (two positives sharing a bin below one negative: bound 1/6, every ordering 1/12). It is
 * small when bins are fine compared with the score distribution, and large only when many
 * positives and negatives share a bin (logits within one bin width, ≤ 4·40/B, of each
 * other, or beyond ±40).
 */
export function auprcBinningErrorBound(h: HistogramView): number {
  const c = cumulative(h);
  if (c.positives === 0) return 0;
  let bound = 0;
  for (let k = c.bins - 1; k >= 0; k--) {
    const p = h.positives[k]!;
    if (p === 0) continue;
    const n = h.negatives[k]!;
    const x = c.tp[k + 1]!;
    const y = x + c.fp[k + 1]!;
    const binned = (x + p) / (y + p + n);
    const hi = (x + p) / (y + p);
    const lo = (x + 1) / (y + 1 + n);
    bound += p * Math.max(hi - binned, binned - lo);
  }
  return bound / c.positives;
}

/**
 * Largest possible |exact ROC AUC − rocAucFromHistogram(h)|: each same-bin
 * (fraud, legitimate) pair counts ½ in the histogram and 0 or 1 exactly.
 */
export function rocAucBinningErrorBound(h: HistogramView): number {
  const c = cumulative(h);
  if (c.positives === 0 || c.negatives === 0) return 0;
  let tied = 0;
  for (let k = 0; k < c.bins; k++) tied += h.positives[k]! * h.negatives[k]!;
  return tied / (2 * c.positives * c.negatives);
}
