/**
 * Federation-wide metrics from per-bank evaluation reports. Everything is computed from
 * SUMMED counts (confusions and histograms), never by averaging per-bank metrics: the
 * mean of per-bank F1 scores is not the F1 of the pooled test data (a small bank with
 * two frauds would weigh as much as a large one with two thousand), while summed counts
 * give exactly the metric a centralized evaluation of all test data would report.
 */
import type { Confusion } from '../protocol/messages.js';
import { precisionRecallF1, sumConfusions } from './confusion.js';
import { auprcBinningErrorBound, auprcFromHistogram, rocAucFromHistogram } from './curves.js';
import { sumHistogramsPacked, type HistogramView } from './histogram.js';

export interface MetricsReport {
  numExamples: number;
  confusion: Confusion;
  histogram: HistogramView;
  /** Mean loss over this report's examples. */
  loss: number;
}

export interface GlobalMetrics {
  precision: number;
  recall: number;
  f1: number;
  auprc: number;
  /** An upper bound on |exact AUPRC − auprc| given the summed histogram (curves.ts; safe, not always attained). */
  auprcErrorBound: number;
  rocAuc: number;
  /** Example-weighted mean loss (0 when no examples). */
  loss: number;
  numExamples: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function globalMetrics(reports: readonly MetricsReport[]): GlobalMetrics {
  if (reports.length === 0) throw new Error('globalMetrics needs at least one evaluation report');
  let numExamples = 0;
  let lossSum = 0;
  for (const [i, r] of reports.entries()) {
    if (!(Number.isFinite(r.numExamples) && r.numExamples >= 0))
      throw new Error(`report ${i}: numExamples must be a non-negative number`);
    if (!Number.isFinite(r.loss)) throw new Error(`report ${i}: loss must be finite`);
    numExamples += r.numExamples;
    lossSum += r.numExamples * r.loss;
  }
  const confusion = sumConfusions(reports.map((r) => r.confusion));
  const histogram = sumHistogramsPacked(reports.map((r) => r.histogram));
  return {
    ...precisionRecallF1(confusion),
    auprc: auprcFromHistogram(histogram),
    auprcErrorBound: auprcBinningErrorBound(histogram),
    rocAuc: rocAucFromHistogram(histogram),
    loss: numExamples > 0 ? lossSum / numExamples : 0,
    numExamples,
    ...confusion,
  };
}
