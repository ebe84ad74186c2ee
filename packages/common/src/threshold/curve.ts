/**
 * Operating points of a score on a labelled validation split: one point per distinct
 * score t, "flag every transaction with score ≥ t" (the rule of metrics/confusion.ts),
 * from the highest score down. Tied scores are flagged together, so a tie is never split
 * and the points do not depend on row order.
 *
 * Scores may be logits or probabilities; prefer logits (probabilities saturate at
 * exactly 0 and 1 in float32 and turn many transactions into one tie).
 */
import { sweepThresholds } from '../metrics/sweep.js';

/** One operating point: the counts and rates when flagging score ≥ threshold. */
export interface OperatingPoint {
  /** Flag a transaction when its score is ≥ this. */
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** tp / (tp + fp). */
  precision: number;
  /** tp / (tp + fn): the share of fraud caught. */
  recall: number;
  /** fp / (fp + tn): the share of legitimate transactions flagged. */
  fpr: number;
  /** Flagged rows per day at `rowsPerDay` rows a day, null when the rate is not known. */
  alertsPerDay: number | null;
}

export interface Sweep {
  /** Points in decreasing threshold (increasing recall and FPR). */
  points: OperatingPoint[];
  positives: number;
  negatives: number;
}

/**
 * Validates scores and labels (same length, labels 0/1 with both present, finite scores)
 * and returns every operating point. Errors name the offending index.
 */
export function sweepOperatingPoints(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  rowsPerDay: number | null = null,
): Sweep {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`scores and labels differ in length: ${n} vs ${labels.length}`);
  if (n === 0) throw new Error('the validation split is empty: no threshold can be chosen');
  if (rowsPerDay !== null && !(rowsPerDay > 0 && Number.isFinite(rowsPerDay)))
    throw new Error(`rowsPerDay must be a positive number, got ${rowsPerDay}`);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`label ${i} is ${y}; labels must be 0 or 1`);
    if (!Number.isFinite(scores[i]!)) throw new Error(`score ${i} is ${scores[i]}; scores must be finite`);
    positives += y;
  }
  const negatives = n - positives;
  if (positives === 0)
    throw new Error('the validation split has no fraud: precision and recall cannot be estimated from it');
  if (negatives === 0)
    throw new Error('the validation split has only fraud: false-positive rates cannot be estimated from it');
  const points: OperatingPoint[] = [];
  sweepThresholds(scores, labels, (t, tp, fp) => {
    points.push(pointOf(t, tp, fp, positives, negatives, rowsPerDay));
  });
  return { points, positives, negatives };
}

export function pointOf(
  threshold: number,
  tp: number,
  fp: number,
  positives: number,
  negatives: number,
  rowsPerDay: number | null,
): OperatingPoint {
  const flagged = tp + fp;
  return {
    threshold,
    tp,
    fp,
    tn: negatives - fp,
    fn: positives - tp,
    precision: flagged > 0 ? tp / flagged : 0,
    recall: tp / positives,
    fpr: fp / negatives,
    alertsPerDay: rowsPerDay === null ? null : (flagged / (positives + negatives)) * rowsPerDay,
  };
}

/**
 * The operating point of a given threshold on a labelled split (e.g. the chosen
 * threshold on the test split). Same validation as sweepOperatingPoints.
 */
export function operatingPointAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
  rowsPerDay: number | null = null,
): OperatingPoint {
  if (Number.isNaN(threshold)) throw new Error('threshold is NaN');
  const { positives, negatives } = sweepOperatingPoints(scores, labels, rowsPerDay);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! >= threshold) {
      if (labels[i] === 1) tp++;
      else fp++;
    }
  }
  return pointOf(threshold, tp, fp, positives, negatives, rowsPerDay);
}

/**
 * At most `maxPoints` points for a chart: evenly spaced along the sweep, always with the
 * first, the last and `keep` (the chosen point, an index into `points`). Deterministic.
 * @throws Error when maxPoints is not an integer ≥ 2, or ≥ 3 with `keep` (room for all three).
 */
export function thinCurve(points: readonly OperatingPoint[], maxPoints: number, keep?: number): OperatingPoint[] {
  const least = keep === undefined ? 2 : 3;
  if (!(Number.isInteger(maxPoints) && maxPoints >= least))
    throw new Error(
      `maxCurvePoints must be an integer ≥ ${least}${keep === undefined ? '' : ' (the first, the last and the chosen point)'}, got ${maxPoints}`,
    );
  const m = points.length;
  if (m <= maxPoints) return points.slice();
  const idx = new Set<number>();
  const slots = keep === undefined ? maxPoints : maxPoints - 1;
  for (let k = 0; k < slots; k++) idx.add(Math.round((k * (m - 1)) / (slots - 1)));
  if (keep !== undefined) idx.add(keep);
  return [...idx].sort((a, b) => a - b).map((i) => points[i]!);
}
