/**
 * Exact ranking metrics on raw scores, for tests and for the centralized baseline.
 * Same definitions as scikit-learn: `average_precision_score` (step interpolation,
 * tied scores form one threshold) and `roc_auc_score` (ties count ½). Undefined
 * metrics are 0, as everywhere in metrics/.
 *
 * O(n log n): positives and negatives are sorted separately (typed-array numeric sort)
 * and swept together from the highest score down, one distinct score at a time.
 */
import { checkScoresAndLabels } from './confusion.js';

interface Sweep {
  positives: number;
  negatives: number;
  /** Called once per distinct score, highest first, with the counts at that score. */
  forEach(visit: (tpAbove: number, fpAbove: number, dp: number, dn: number) => void): void;
}

function sweep(scores: ArrayLike<number>, labels: ArrayLike<number>): Sweep {
  checkScoresAndLabels(scores, labels);
  let np = 0;
  for (let i = 0; i < labels.length; i++) np += labels[i] === 1 ? 1 : 0;
  const pos = new Float64Array(np);
  const neg = new Float64Array(labels.length - np);
  let ip = 0;
  let ineg = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[ip++] = scores[i]!;
    else neg[ineg++] = scores[i]!;
  }
  pos.sort();
  neg.sort();
  return {
    positives: pos.length,
    negatives: neg.length,
    forEach(visit) {
      // Walk both ascending arrays from their ends (highest scores first).
      let i = pos.length - 1;
      let j = neg.length - 1;
      while (i >= 0 || j >= 0) {
        const t = Math.max(i >= 0 ? pos[i]! : -Infinity, j >= 0 ? neg[j]! : -Infinity);
        const tpAbove = pos.length - 1 - i;
        const fpAbove = neg.length - 1 - j;
        let dp = 0;
        let dn = 0;
        while (i >= 0 && pos[i] === t) {
          i--;
          dp++;
        }
        while (j >= 0 && neg[j] === t) {
          j--;
          dn++;
        }
        visit(tpAbove, fpAbove, dp, dn);
      }
    },
  };
}

/** Average precision of raw scores (sklearn `average_precision_score`). */
export function auprcExact(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const s = sweep(scores, labels);
  if (s.positives === 0) return 0;
  let ap = 0;
  s.forEach((tpAbove, fpAbove, dp, dn) => {
    if (dp > 0) ap += (dp / s.positives) * ((tpAbove + dp) / (tpAbove + fpAbove + dp + dn));
  });
  return ap;
}

/** ROC AUC of raw scores (sklearn `roc_auc_score`; Mann-Whitney U with ties as ½). */
export function rocAucExact(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const s = sweep(scores, labels);
  if (s.positives === 0 || s.negatives === 0) return 0;
  let pairs = 0;
  s.forEach((tpAbove, _fpAbove, dp, dn) => {
    pairs += dn * (tpAbove + dp / 2);
  });
  return pairs / (s.positives * s.negatives);
}
