/**
 * Secure evaluation: a bank's evaluation counts as one masked vector, so that the aggregator
 * learns only the consortium's pooled confusion counts and score histogram (issue 13: "evaluation
 * counts and score histograms are integers: sum them securely too, exactly").
 *
 * Layout (uint32 words): [tp, fp, tn, fn, positives[0..bins), negatives[0..bins)], length
 * 4 + 2·bins. Counts are integers, so no fixed point is involved: the secure sum mod 2^32 is the
 * exact integer sum as long as the pooled total stays below 2^32, which `decodeEvaluationSum`
 * checks from the banks' clear-text example counts before reading any word.
 *
 * Pooled counts are then checked like one bank's evaluation (metrics/consistency.ts): a bank that
 * masks counts disagreeing with the example count it sent in the clear makes the pooled counts
 * inconsistent, and the evaluation is refused as a whole (the aggregator cannot tell which bank).
 */
import type { Confusion, ScoreHistogram } from '../protocol/messages.js';
import { HISTOGRAM_LOGIT_MAX, HISTOGRAM_SCALE } from '../metrics/layout.js';
import { SecAggError } from './errors.js';

const WORD = 2 ** 32;

/** Words in the masked evaluation vector for a histogram of `bins` bins. */
export function evaluationVectorLength(bins: number): number {
  return 4 + 2 * bins;
}

/**
 * Encodes one bank's counts (shape: confusion + histogram of `h.bins` bins) as uint32 words.
 * Throws SecAggError('out_of_range') for a count that is not an integer in [0, 2^32).
 */
export function encodeEvaluationCounts(confusion: Confusion, h: ScoreHistogram): Uint32Array {
  const out = new Uint32Array(evaluationVectorLength(h.bins));
  const put = (i: number, v: number, what: string) => {
    if (!(Number.isInteger(v) && v >= 0 && v < WORD))
      throw new SecAggError('out_of_range', `evaluation count ${what} = ${v} is not an integer in [0, 2^32)`);
    out[i] = v;
  };
  put(0, confusion.tp, 'tp');
  put(1, confusion.fp, 'fp');
  put(2, confusion.tn, 'tn');
  put(3, confusion.fn, 'fn');
  if (h.positives.length !== h.bins || h.negatives.length !== h.bins)
    throw new SecAggError('out_of_range', `histogram arrays must have exactly bins = ${h.bins} entries`);
  for (let b = 0; b < h.bins; b++) {
    put(4 + b, h.positives[b]!, `positives[${b}]`);
    put(4 + h.bins + b, h.negatives[b]!, `negatives[${b}]`);
  }
  return out;
}

/**
 * Reads the unmasked sum of evaluation vectors (length 4 + 2·bins) as pooled counts.
 * `pooledExamples` is Σ of the survivors' clear-text test example counts: every word of an
 * honest sum is at most that, so it must be below 2^32 for the sum mod 2^32 to be exact.
 * Throws SecAggError('out_of_range') otherwise, or on a wrong length.
 */
export function decodeEvaluationSum(
  sum: Uint32Array,
  bins: number,
  pooledExamples: number,
): { confusion: Confusion; histogram: ScoreHistogram } {
  if (sum.length !== evaluationVectorLength(bins))
    throw new SecAggError(
      'out_of_range',
      `evaluation sum has ${sum.length} words, ${evaluationVectorLength(bins)} expected for ${bins} bins`,
    );
  if (!(Number.isInteger(pooledExamples) && pooledExamples >= 0 && pooledExamples < WORD))
    throw new SecAggError(
      'out_of_range',
      `${pooledExamples} pooled test examples: counts mod 2^32 are exact only below 2^32`,
    );
  return {
    confusion: { tp: sum[0]!, fp: sum[1]!, tn: sum[2]!, fn: sum[3]! },
    histogram: {
      scale: HISTOGRAM_SCALE,
      logitMax: HISTOGRAM_LOGIT_MAX,
      bins,
      positives: Array.from(sum.subarray(4, 4 + bins)),
      negatives: Array.from(sum.subarray(4 + bins, 4 + 2 * bins)),
    },
  };
}
