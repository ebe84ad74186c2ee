/**
 * Exact evaluation of a model's scores on the shared test set, identical for the
 * centralized baseline, every federated round and every local-only bank, so that the
 * three are compared with one yardstick (the federation's own per-round metrics come
 * from summed 1000-bin logit-scale histograms and are reported beside these, not instead).
 * AUPRC and ROC AUC rank by the model's logits when given: float32 probabilities tie every
 * score beyond logit ≈ 16.6 at exactly 1, the logits keep the model's real order.
 */
import {
  auprcExact,
  confusionAt,
  labelCounts,
  precisionRecallF1,
  rocAucExact,
  sweepThresholds,
} from '@finsecure/common/metrics';
import { binaryCrossEntropy, type MlpTrainer } from '@finsecure/common/model';
import type { Dataset } from '@finsecure/common';

export interface OperatingPoint {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface EvalMetrics {
  /** At the fixed decision threshold (0.5). */
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** The score threshold with the highest F1 on the test set (an optimistic, oracle choice). */
  bestF1: OperatingPoint;
  auprc: number;
  rocAuc: number;
  /** Highest recall at a threshold whose false-positive rate is at most 1 %. */
  recallAt1PctFpr: number;
  /** Mean binary cross-entropy on the test set. */
  loss: number;
  examples: number;
  frauds: number;
}

/** Best-F1 threshold and recall at a maximum FPR, exactly, by one sweep over the sorted scores. */
export function sweepMetrics(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  maxFpr = 0.01,
): { bestF1: OperatingPoint; recallAtFpr: number } {
  const { positives, negatives } = labelCounts(labels);
  let best: OperatingPoint = { threshold: 1, precision: 0, recall: 0, f1: 0 };
  let recallAtFpr = 0;
  // Everything with score ≥ t is flagged: each tie group is consumed whole.
  sweepThresholds(scores, labels, (t, tp, fp) => {
    const precision = tp / (tp + fp);
    const recall = positives > 0 ? tp / positives : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) best = { threshold: t, precision, recall, f1 };
    const fpr = negatives > 0 ? fp / negatives : 0;
    if (fpr <= maxFpr) recallAtFpr = recall;
  });
  return { bestF1: best, recallAtFpr };
}

export function metricsFromScores(
  scores: Float32Array,
  labels: Uint8Array,
  threshold = 0.5,
  logits?: Float32Array,
): EvalMetrics {
  const c = confusionAt(scores, labels, threshold);
  const prf = precisionRecallF1(c);
  const sweep = sweepMetrics(scores, labels, 0.01);
  return {
    threshold,
    ...prf,
    ...c,
    bestF1: sweep.bestF1,
    auprc: auprcExact(logits ?? scores, labels),
    rocAuc: rocAucExact(logits ?? scores, labels),
    recallAt1PctFpr: sweep.recallAtFpr,
    loss: binaryCrossEntropy(scores, labels),
    examples: labels.length,
    frauds: c.tp + c.fn,
  };
}

/** Scores `test` (already scaled) with the trainer's current weights. */
export function evaluateTrainer(trainer: MlpTrainer, test: Dataset, threshold = 0.5): EvalMetrics {
  const { probabilities, logits } = trainer.predictWithLogits(test.features, test.numRows);
  return metricsFromScores(probabilities, test.labels, threshold, logits);
}
