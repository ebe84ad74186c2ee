/**
 * The threshold sweep behind every operating-point computation (precision/recall curves, the best
 * F1, recall at a false-positive rate, false positives at a recall): rows sorted by score, highest
 * first, and every distinct score visited once with the cumulative counts of rows scored at or
 * above it. Ties are consumed whole: a threshold flags every row with that score, so no operating
 * point splits a tie group (the convention of scikit-learn's `precision_recall_curve`).
 */

/** Rows labelled 1 (positives) and the others (negatives). */
export function labelCounts(labels: ArrayLike<number>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  return { positives, negatives: labels.length - positives };
}

/**
 * Calls `visit(t, tp, fp)` for every distinct score t in decreasing order, where tp and fp count
 * the rows with score ≥ t labelled 1 and not 1. Stops as soon as `visit` returns true.
 * Shapes: `scores` and `labels` of the same length n (not checked here: callers validate with
 * their own messages). O(n log n): one sort of the row indices, ties broken by index.
 */
export function sweepThresholds(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  visit: (threshold: number, tp: number, fp: number) => boolean | void,
): void {
  const n = scores.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n;) {
    const t = scores[order[k]!]!;
    while (k < n && scores[order[k]!] === t) {
      if (labels[order[k]!] === 1) tp++;
      else fp++;
      k++;
    }
    if (visit(t, tp, fp) === true) return;
  }
}
