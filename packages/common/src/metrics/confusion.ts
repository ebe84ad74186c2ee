/**
 * Confusion matrices at a fixed threshold, and the precision / recall / F1 they imply.
 * Confusion counts are additive across banks, which is why federated evaluation sends
 * counts rather than per-bank metrics (see global.ts).
 */
import type { Confusion } from '../protocol/messages.js';

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/** Checks that scores and labels line up and that labels are 0/1 (1 = fraud). */
export function checkScoresAndLabels(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) {
    throw new Error(`scores and labels differ in length: ${scores.length} vs ${labels.length}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`label ${i} is ${y}; labels must be 0 or 1`);
    // A NaN score would silently count as "not fraud" (NaN >= t is false): refuse it.
    if (Number.isNaN(scores[i])) throw new Error(`score ${i} is NaN`);
  }
}

/** Counts at `threshold`: a transaction is predicted fraud when score >= threshold. */
export function confusionAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): Confusion {
  checkScoresAndLabels(scores, labels);
  if (Number.isNaN(threshold)) throw new Error('threshold is NaN');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

export function sumConfusions(list: readonly Confusion[]): Confusion {
  const out: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const c of list) {
    out.tp += c.tp;
    out.fp += c.fp;
    out.tn += c.tn;
    out.fn += c.fn;
  }
  return out;
}

/**
 * Precision, recall and F1 from counts. A metric whose denominator is zero is reported
 * as 0 (precision with no predicted positives, recall with no actual positives, F1 when
 * precision + recall = 0), never NaN, so that results always serialise and validate.
 * Callers who must tell "0" from "undefined" look at the counts.
 */
export function precisionRecallF1(c: Confusion): PrecisionRecallF1 {
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : 0;
}
