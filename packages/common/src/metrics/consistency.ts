/**
 * Is a bank's evaluation report internally consistent? The aggregator sums every bank's
 * confusion counts and score histogram into the federation's committed metrics
 * (global.ts), so one bank could otherwise define them: an evaluation with numExamples
 * 9e15, confusion counts to match and all positives in the top histogram bin committed a
 * round with AUPRC 1.0 (issue 12, A3).
 *
 * What an honest report satisfies, whatever its model and data:
 * - every count is a non-negative safe integer, and tp + fp + tn + fn = numExamples;
 * - numExamples ≤ the test examples the bank declared when it joined (its hello's
 *   `numTestExamples`), which is required: without it nothing bounds its weight;
 * - the histogram holds the same examples as the confusion counts: Σ positives = tp + fn
 *   and Σ negatives = fp + tn;
 * - the histogram agrees with the confusion counts at the reported threshold t. The
 *   bank predicts fraud when its float32 probability p ≥ t and bins the logit z of the
 *   same score, so every example in a bin above logit(t) is predicted fraud and every
 *   one below is not; only the bins around logit(t) may hold both. Hence
 *       Σ_{b > kHi} positives_b ≤ tp ≤ Σ_{b ≥ kLo} positives_b   (likewise fp, negatives)
 *   with kLo/kHi the bins of logit(t ∓ PROBABILITY_TOLERANCE): the tolerance covers the
 *   rounding of float32 σ(z) (ulp ≤ 6e-8 on [0.5, 1)) with 16 ulps of margin.
 *
 * A forged report that satisfies all of these is indistinguishable from a real one with a
 * perfect model on its declared test set: the declared count and the per-bank share cap
 * (shares.ts) bound what it can do to the global figure.
 */
import type { Confusion } from '../protocol/messages.js';
import { binIndexOfLogit, logit } from './layout.js';

/** Probability slack around the threshold for float32 rounding of σ(z) (see above). */
export const PROBABILITY_TOLERANCE = 1e-6;

/** The fields of an `EvaluationResult` message that are checked. */
export interface EvaluationCounts {
  numExamples: number;
  threshold: number;
  confusion: Confusion;
  histogram: { bins: number; positives: ArrayLike<number>; negatives: ArrayLike<number> };
}

export interface CheckEvaluationOptions {
  /**
   * Test examples the bank declared at join (hello `numTestExamples`). Required:
   * undefined (an older bank, or one that declared nothing) is refused, because nothing
   * else bounds its weight in the global metrics.
   */
  declaredTestExamples: number | undefined;
  /** The threshold the aggregator asked for; the report must repeat it exactly. */
  expectedThreshold?: number;
  /** The bin count the aggregator asked for. */
  expectedBins?: number;
}

export type EvaluationCheck = { ok: true } | { ok: false; reason: string };

function isCount(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

/**
 * Checks one bank's evaluation report against itself and against the test examples it
 * declared at join (see the module comment for each rule and why it holds for honest
 * banks). Returns `{ ok: true }` or `{ ok: false, reason }`, the reason naming the field
 * and both values, ready for the ack and the audit entry. Never throws.
 * Units: counts of test examples; threshold a probability in [0, 1].
 */
export function checkEvaluation(result: EvaluationCounts, options: CheckEvaluationOptions): EvaluationCheck {
  const bad = (reason: string): EvaluationCheck => ({ ok: false, reason });
  const { numExamples: n, confusion: c, histogram: h, threshold: t } = result;
  const declared = options.declaredTestExamples;
  if (declared === undefined)
    return bad('the bank declared no numTestExamples when it joined: evaluations need a declared test-set size');
  if (!isCount(declared)) return bad(`declared numTestExamples ${declared} is not a non-negative integer`);
  if (!isCount(n)) return bad(`numExamples ${n} is not a non-negative integer`);
  for (const k of ['tp', 'fp', 'tn', 'fn'] as const)
    if (!isCount(c[k])) return bad(`confusion ${k} ${c[k]} is not a non-negative integer`);
  if (n > declared) return bad(`numExamples ${n} exceeds the ${declared} test examples declared at join`);
  const counted = c.tp + c.fp + c.tn + c.fn;
  if (counted !== n) return bad(`confusion counts add up to ${counted}, numExamples is ${n}`);
  if (!(t >= 0 && t <= 1)) return bad(`threshold ${t} is not in [0, 1]`);
  if (options.expectedThreshold !== undefined && t !== options.expectedThreshold)
    return bad(`threshold ${t} differs from the ${options.expectedThreshold} the aggregator asked for`);
  if (options.expectedBins !== undefined && h.bins !== options.expectedBins)
    return bad(`histogram has ${h.bins} bins, expected ${options.expectedBins}`);
  if (!(Number.isInteger(h.bins) && h.bins >= 1 && h.positives.length === h.bins && h.negatives.length === h.bins))
    return bad(`histogram arrays must have exactly bins = ${h.bins} entries`);
  let pos = 0;
  let neg = 0;
  for (let b = 0; b < h.bins; b++) {
    const p = h.positives[b]!;
    const q = h.negatives[b]!;
    if (!isCount(p) || !isCount(q)) return bad(`histogram bin ${b} has non-count entries (${p}, ${q})`);
    pos += p;
    neg += q;
  }
  if (pos !== c.tp + c.fn)
    return bad(`histogram holds ${pos} positives, the confusion counts tp + fn = ${c.tp + c.fn}`);
  if (neg !== c.fp + c.tn)
    return bad(`histogram holds ${neg} negatives, the confusion counts fp + tn = ${c.fp + c.tn}`);
  const kLo = binIndexOfLogit(logit(Math.max(0, t - PROBABILITY_TOLERANCE)), h.bins);
  const kHi = binIndexOfLogit(logit(Math.min(1, t + PROBABILITY_TOLERANCE)), h.bins);
  for (const [name, count, arr] of [
    ['tp', c.tp, h.positives],
    ['fp', c.fp, h.negatives],
  ] as const) {
    let surely = 0; // bins entirely above the threshold band: predicted fraud
    let maybe = 0; // bins at or above the band's lower edge: possibly predicted fraud
    for (let b = kLo; b < h.bins; b++) {
      maybe += arr[b]!;
      if (b > kHi) surely += arr[b]!;
    }
    if (count < surely || count > maybe)
      return bad(
        `confusion ${name} ${count} disagrees with the histogram at threshold ${t}: bins ${kLo}..${h.bins - 1} hold ${maybe} ${name === 'tp' ? 'positives' : 'negatives'}, bins above ${kHi} hold ${surely}`,
      );
  }
  return { ok: true };
}
