/**
 * False positives at a fixed recall: the analyst's cost of catching a given share of the
 * fraud. Sweep the scores from the highest down (ties flagged together, as a threshold
 * flags every score at or above it) and stop at the first threshold whose recall reaches
 * the target; report how many legitimate transactions were flagged with it.
 *
 * Same sweep as evaluate.ts sweepMetrics (common/metrics/sweep.ts: exact, one sort), read at a
 * recall instead of at a false-positive rate. Pure and deterministic.
 */
import { labelCounts, sweepThresholds } from '@finsecure/common/metrics';

export interface FixedRecallPoint {
  /** Recall asked for, in (0, 1]. */
  targetRecall: number;
  /** Recall reached (≥ target, more when a tie group crosses it). */
  recall: number;
  /** Score threshold (logit or probability, as given): everything ≥ it is flagged. */
  threshold: number;
  /** Legitimate transactions flagged at that threshold. */
  falsePositives: number;
  truePositives: number;
  /** falsePositives / legitimate transactions. */
  falsePositiveRate: number;
  precision: number;
}

/**
 * @param scores one score per transaction (higher = more suspicious; logits keep the order
 *   where float32 probabilities saturate)
 * @param labels 1 = fraud, 0 = legitimate, same length
 * @param targetRecall in (0, 1]
 * @throws Error when lengths differ, the target is out of range, or there is no fraud
 */
export function falsePositivesAtRecall(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  targetRecall: number,
): FixedRecallPoint {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`${n} scores but ${labels.length} labels`);
  if (!(targetRecall > 0 && targetRecall <= 1)) throw new Error(`target recall must be in (0, 1], got ${targetRecall}`);
  const { positives, negatives } = labelCounts(labels);
  if (positives === 0) throw new Error('no fraud among the labels: recall is undefined');
  let point: FixedRecallPoint | null = null;
  sweepThresholds(scores, labels, (t, tp, fp) => {
    // Compared as counts, so that 0.8 × 10 frauds asks for exactly 8.
    if (tp < Math.ceil(targetRecall * positives - 1e-9)) return false;
    point = {
      targetRecall,
      recall: tp / positives,
      threshold: t,
      falsePositives: fp,
      truePositives: tp,
      falsePositiveRate: negatives ? fp / negatives : 0,
      precision: tp / (tp + fp),
    };
    return true;
  });
  if (!point) throw new Error('unreachable: every row flagged reaches recall 1');
  return point;
}

/**
 * Indices of the k highest scores, highest first; ties broken by the lower index, so the
 * queue an analyst sees is deterministic. k larger than n gives all n.
 */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, Math.max(0, k));
}
