/**
 * Fixed-bin score histograms over [0, 1]. Each bank sends, per bin, how many fraud and
 * how many legitimate transactions scored in it; histograms from different banks add
 * up bin by bin, so the federation can compute ranking metrics (AUPRC, ROC AUC, best
 * F1) of the pooled test data without any bank revealing a single score.
 *
 * Bin i of B covers [i/B, (i+1)/B); the last bin also holds 1. Finite scores outside
 * [0, 1] are clamped into the first or last bin (model scores are sigmoid outputs).
 *
 * Exactness at bin edges: for float32 scores in [0, 1], B ≤ 2^29 and an edge k/B with
 * 0 ≤ k < B, `floor(s·B) >= k` holds exactly when `s >= k/B` (s·B is exact in double
 * precision, and no float32 lies within double rounding of k/B unless it equals it), so
 * a histogram threshold at edge k/B reproduces `confusionAt(scores, labels, k/B)` count
 * for count. Metrics from a histogram are therefore exact at the edges; the only
 * approximation is that scores within one bin are treated as ties (see curves.ts).
 */
import type { ScoreHistogram } from '../protocol/messages.js';
import { checkScoresAndLabels } from './confusion.js';

export const DEFAULT_HISTOGRAM_BINS = 1000;

/** The bin a score falls into. */
export function binIndex(score: number, bins: number): number {
  if (Number.isNaN(score)) throw new Error('cannot bin a NaN score');
  const i = Math.floor(score * bins);
  return i < 0 ? 0 : i >= bins ? bins - 1 : i;
}

export function scoreHistogram(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = DEFAULT_HISTOGRAM_BINS,
): ScoreHistogram {
  checkBins(bins);
  checkScoresAndLabels(scores, labels);
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = binIndex(scores[i]!, bins);
    if (labels[i] === 1) positives[b]++;
    else negatives[b]++;
  }
  return { bins, positives, negatives };
}

/** Bin-wise sum. All histograms must have the same number of bins. */
export function sumHistograms(list: readonly ScoreHistogram[]): ScoreHistogram {
  if (list.length === 0) throw new Error('sumHistograms needs at least one histogram (the bin count is unknown)');
  const bins = list[0]!.bins;
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  for (const [k, h] of list.entries()) {
    checkHistogram(h);
    if (h.bins !== bins) throw new Error(`histogram ${k} has ${h.bins} bins, expected ${bins}`);
    for (let i = 0; i < bins; i++) {
      positives[i] += h.positives[i]!;
      negatives[i] += h.negatives[i]!;
    }
  }
  return { bins, positives, negatives };
}

/** Structural check for histograms that did not come through the zod schema. */
export function checkHistogram(h: ScoreHistogram): void {
  checkBins(h.bins);
  if (h.positives.length !== h.bins || h.negatives.length !== h.bins) {
    throw new Error(`histogram arrays must have exactly ${h.bins} entries`);
  }
  for (let i = 0; i < h.bins; i++) {
    const p = h.positives[i]!;
    const n = h.negatives[i]!;
    if (!Number.isInteger(p) || p < 0 || !Number.isInteger(n) || n < 0) {
      throw new Error(`histogram bin ${i} has non-count entries (${p}, ${n})`);
    }
  }
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 2 || bins > 10000)
    throw new Error(`bins must be an integer in 2..10000, got ${bins}`);
}
