/**
 * Score histograms that add up across banks. Each bank sends, per bin, how many fraud and
 * how many legitimate transactions scored in it; histograms of one layout add up bin by
 * bin, so the federation computes ranking metrics (AUPRC, ROC AUC, best F1) of the pooled
 * test data without any bank revealing a single score.
 *
 * Bins follow the model's LOGIT (layout.ts: equal width in σ(z) + z/80 over z ∈ [−40, 40],
 * ends clamped), so scores that float32 probabilities round to exactly 0 or 1 still fall
 * into different bins. Banks histogram the logits their model computes (`logitHistogram`);
 * `scoreHistogram` takes probabilities for callers that have nothing else, and cannot
 * separate probabilities saturated at exactly 0 or 1.
 *
 * Metrics from a histogram treat everything inside one bin as tied; the error this causes
 * is bounded from the histogram alone (curves.ts `auprcBinningErrorBound`).
 */
import type { ScoreHistogram } from '../protocol/messages.js';
import { checkScoresAndLabels } from './confusion.js';
import {
  DEFAULT_HISTOGRAM_BINS,
  HISTOGRAM_LOGIT_MAX,
  HISTOGRAM_SCALE,
  MAX_HISTOGRAM_BINS,
  MIN_HISTOGRAM_BINS,
  binIndexOfLogit,
  describeLayout,
  logit,
} from './layout.js';

/**
 * Histogram of model logits (any finite or infinite value; NaN refused) split by 0/1
 * label (1 = fraud), with `bins` bins of the standard layout.
 */
export function logitHistogram(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = DEFAULT_HISTOGRAM_BINS,
): ScoreHistogram {
  checkBins(bins);
  checkScoresAndLabels(logits, labels);
  const h = emptyHistogram(bins);
  for (let i = 0; i < logits.length; i++) {
    const b = binIndexOfLogit(logits[i]!, bins);
    if (labels[i] === 1) h.positives[b]++;
    else h.negatives[b]++;
  }
  return h;
}

/**
 * Histogram of fraud probabilities in [0, 1] (values outside are clamped): each is
 * binned by its logit, log p − log1p(−p). Probabilities of exactly 0 or 1 (float32
 * saturates beyond |z| ≈ 16.6 at the top) land in the end bins; pass logits to
 * `logitHistogram` to keep them apart.
 */
export function scoreHistogram(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = DEFAULT_HISTOGRAM_BINS,
): ScoreHistogram {
  checkScoresAndLabels(probabilities, labels);
  return logitHistogram(Array.from(probabilities, logit), labels, bins);
}

/** An all-zero histogram of the standard layout (e.g. for a bank with no test rows). */
export function emptyHistogram(bins = DEFAULT_HISTOGRAM_BINS): ScoreHistogram {
  checkBins(bins);
  return {
    scale: HISTOGRAM_SCALE,
    logitMax: HISTOGRAM_LOGIT_MAX,
    bins,
    positives: new Array<number>(bins).fill(0),
    negatives: new Array<number>(bins).fill(0),
  };
}

/**
 * A histogram as read rather than built: its counts in any array-like, such as the Float64Array
 * copies `packHistogram` makes. Every function that only reads a histogram takes this.
 */
export type HistogramView = Omit<ScoreHistogram, 'positives' | 'negatives'> & {
  positives: ArrayLike<number>;
  negatives: ArrayLike<number>;
};

/**
 * The histogram with its counts copied into Float64Arrays (exact for integer counts below 2^53).
 * For histograms kept a while, such as each bank's evaluation until its round commits: 1000 bins
 * are 16 KB either way, but typed arrays' contents are outside the JavaScript heap, so the garbage
 * collector neither scans nor copies them (10,000 banks' histograms are 160 MB).
 */
export function packHistogram(h: HistogramView): PackedHistogram {
  return { ...h, positives: new Float64Array(h.positives), negatives: new Float64Array(h.negatives) };
}

/**
 * Bin-wise sum of histograms of one layout (scale, logit range and bin count), in plain arrays.
 * Inputs may hold plain arrays or Float64Arrays; each is checked (`checkHistogram`).
 * @throws Error on an empty list, a malformed histogram or one of another bin count.
 */
export function sumHistograms(list: readonly HistogramView[]): ScoreHistogram {
  const sum = sumHistogramsPacked(list);
  return { ...sum, positives: Array.from(sum.positives), negatives: Array.from(sum.negatives) };
}

/**
 * `sumHistograms` with the sums in Float64Arrays (exact for totals below 2^53), as `packHistogram`
 * keeps them: what the aggregator's commit sums and reads (global.ts). Each input is checked.
 * @throws Error naming the first histogram that is malformed or of another bin count.
 */
export function sumHistogramsPacked(list: readonly HistogramView[]): PackedHistogram {
  if (list.length === 0) throw new Error('sumHistograms needs at least one histogram (the bin count is unknown)');
  const first = list[0]!;
  checkHistogram(first); // before its bin count sizes the sums; the loop checks the others
  const positives = new Float64Array(first.bins);
  const negatives = new Float64Array(first.bins);
  for (let k = 0; k < list.length; k++) {
    const h = list[k]!;
    if (k > 0) checkHistogram(h);
    if (h.bins !== first.bins) throw new Error(`histogram ${k} has ${h.bins} bins, expected ${first.bins}`);
    addInto(positives, h.positives);
    addInto(negatives, h.negatives);
  }
  return { scale: first.scale, logitMax: first.logitMax, bins: first.bins, positives, negatives };
}

/** A histogram whose counts are Float64Arrays (`packHistogram`, `sumHistogramsPacked`). */
export type PackedHistogram = HistogramView & { positives: Float64Array; negatives: Float64Array };

// One loop per kind of array, each in its own function: V8 keeps a loop's element loads fast only
// while they see one kind, and the aggregator reads both (plain arrays as decoded, Float64Arrays as
// kept): with shared loops, a 10-bank round's histogram work took 1.10 ms of CPU, 0.80 ms now
// (bench/histogram-ab.ts, issue 14 item 1).
function addInto(out: Float64Array, src: ArrayLike<number>): void {
  if (src instanceof Float64Array) addTyped(out, src);
  else addPlain(out, src);
}

function addTyped(out: Float64Array, src: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i]! += src[i]!;
}

function addPlain(out: Float64Array, src: ArrayLike<number>): void {
  for (let i = 0; i < out.length; i++) out[i]! += src[i]!;
}

/**
 * Structural check for histograms that did not come through the zod schema: the
 * standard layout (a histogram of another layout cannot be summed with ours, nor read),
 * `bins` entries per array, non-negative integer counts.
 */
export function checkHistogram(h: HistogramView): void {
  const layout = h as { scale?: unknown; logitMax?: unknown };
  if (layout.scale !== HISTOGRAM_SCALE || layout.logitMax !== HISTOGRAM_LOGIT_MAX) {
    throw new Error(
      `histogram layout is "${describeLayout(h)}", expected "${HISTOGRAM_SCALE}, L = ${HISTOGRAM_LOGIT_MAX}" (bank and aggregator versions differ)`,
    );
  }
  checkBins(h.bins);
  if (h.positives.length !== h.bins || h.negatives.length !== h.bins) {
    throw new Error(`histogram arrays must have exactly ${h.bins} entries`);
  }
  const bad =
    h.positives instanceof Float64Array && h.negatives instanceof Float64Array
      ? firstNonCountTyped(h.positives, h.negatives)
      : firstNonCountPlain(h.positives, h.negatives);
  if (bad >= 0)
    throw new Error(`histogram bin ${bad} has non-count entries (${h.positives[bad]}, ${h.negatives[bad]})`);
}

/** The first bin whose counts are not both non-negative integers, or −1 (one loop per array kind, see addInto). */
function firstNonCountTyped(p: Float64Array, n: Float64Array): number {
  for (let i = 0; i < p.length; i++) if (!isCount(p[i]!) || !isCount(n[i]!)) return i;
  return -1;
}

function firstNonCountPlain(p: ArrayLike<number>, n: ArrayLike<number>): number {
  for (let i = 0; i < p.length; i++) if (!isCount(p[i]!) || !isCount(n[i]!)) return i;
  return -1;
}

function isCount(x: number): boolean {
  return Number.isInteger(x) && x >= 0;
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < MIN_HISTOGRAM_BINS || bins > MAX_HISTOGRAM_BINS)
    throw new Error(`bins must be an integer in ${MIN_HISTOGRAM_BINS}..${MAX_HISTOGRAM_BINS}, got ${bins}`);
}
