/**
 * The masked vectors of a secure segmentation (SecAgg+ over a job's summed stages): what one
 * bank's answer to the initialisation histogram or to a Lloyd iteration looks like as a
 * fixed-point vector, the fixed-point range that holds it, and the pooled answer the unmasked
 * sum stands for.
 *
 *   histogram:  [counts of the bins^d cells]                                  (noised with DP)
 *   lloyd:      [sums (k×d, row-major), counts (k), frauds (k), labelled (1)] (noised with DP)
 *
 * `labelled` is 1 for a bank with fraud labels: the pooled fraud counts are reported only when
 * every bank in the sum had labels (as in the plaintext job), read from that coordinate.
 *
 * The range: every coordinate of one bank's vector is bounded by what the aggregator already
 * knows in the clear, the largest customer count a bank declared in the moments stage (nmax):
 * counts ≤ nmax; sums ≤ nmax · R with R the DP clip (points are projected into that ball) or,
 * without DP, Z_MAX standard deviations; plus 10 σ of the bank's noise. A bank whose values
 * would not fit declines instead of being silently clipped.
 */
import type { AnalyticsAnswerBody, AnalyticsTask } from '../protocol/analytics-messages.js';
import { maxFractionalBits, type FixedPointParams } from '../secagg/fixed-point.js';
import { segmentSigma } from './segments.js';

/** Without DP, a customer's scaled feature is assumed within ±Z_MAX standard deviations on average over a bank. */
export const Z_MAX = 100;

type SummedTask = Extract<AnalyticsTask, { kind: 'segment_histogram' | 'segment_lloyd' }>;
type SummedAnswer = Extract<AnalyticsAnswerBody, { kind: 'segment_histogram' | 'segment_lloyd' }>;

/** Whether a stage's answers are only ever summed (and so can be summed securely). */
export function isSummedTask(task: AnalyticsTask): task is SummedTask {
  return task.kind === 'segment_histogram' || task.kind === 'segment_lloyd';
}

/** Words of the masked vector of `task`. */
export function secureVectorLength(task: SummedTask): number {
  if (task.kind === 'segment_histogram') return task.bins ** task.box.lo.length;
  return task.k * task.d + 2 * task.k + 1;
}

/**
 * The fixed-point encoding of a pass over `banks` banks whose largest customer count is
 * `maxCustomers` (see the module comment). Throws RangeError when no fractional bit is left.
 */
export function secureFixedPoint(task: SummedTask, maxCustomers: number, banks: number): FixedPointParams {
  let bound: number;
  if (task.kind === 'segment_histogram') bound = maxCustomers + 10 * task.noiseMultiplier;
  else {
    const radius = task.privacy ? task.privacy.clip : Z_MAX;
    const sigma = task.privacy ? segmentSigma(task.privacy, true) : 0;
    bound = maxCustomers * Math.max(radius, 1) + 10 * sigma;
  }
  const clip = Math.max(1, Math.ceil(bound));
  const fractionalBits = maxFractionalBits(clip, 1, banks);
  if (fractionalBits < 0)
    throw new RangeError(`statistics of up to ${clip} per bank cannot be summed over ${banks} banks in 32 bits`);
  return { fractionalBits, clip, maxWeight: 1, maxBanks: Math.max(2, banks) };
}

/** One bank's answer as the vector it masks (length `secureVectorLength(task)`). */
export function answerVector(task: SummedTask, a: SummedAnswer): Float64Array {
  const out = new Float64Array(secureVectorLength(task));
  if (a.kind === 'segment_histogram') {
    if (task.kind !== 'segment_histogram' || a.counts.length !== out.length)
      throw new RangeError(`a histogram of ${a.counts.length} cells for a vector of ${out.length}`);
    out.set(a.counts);
    return out;
  }
  if (task.kind !== 'segment_lloyd') throw new RangeError('a Lloyd answer for a histogram stage');
  const { k, d } = task;
  if (a.sums.length !== k * d || a.counts.length !== k) throw new RangeError('Lloyd statistics of the wrong shape');
  out.set(a.sums, 0);
  out.set(a.counts, k * d);
  if (a.frauds) out.set(a.frauds, k * d + k);
  out[k * d + 2 * k] = a.frauds ? 1 : 0;
  return out;
}

/** The answer the unmasked sum of `banks` banks' vectors stands for (decoded from fixed point). */
export function pooledAnswer(task: SummedTask, sum: Float64Array, banks: number): SummedAnswer {
  if (sum.length !== secureVectorLength(task))
    throw new RangeError(`a sum of ${sum.length} words for a vector of ${secureVectorLength(task)}`);
  // Without noise the counts are integers: rounding removes the fixed-point error exactly.
  const exact = task.kind === 'segment_histogram' ? task.noiseMultiplier === 0 : !task.privacy;
  const counts = (v: Float64Array) => Array.from(v, (x) => (exact ? Math.round(x) : x));
  if (task.kind === 'segment_histogram')
    return { kind: 'segment_histogram', counts: counts(sum), noiseMultiplier: task.noiseMultiplier };
  const { k, d } = task;
  // Every bank added 0 or 1: the rounding error is far below 1/2.
  const labelled = Math.round(sum[k * d + 2 * k]!);
  return {
    kind: 'segment_lloyd',
    iteration: task.iteration,
    sums: Array.from(sum.subarray(0, k * d)),
    counts: counts(sum.subarray(k * d, k * d + k)),
    ...(labelled === banks ? { frauds: counts(sum.subarray(k * d + k, k * d + 2 * k)) } : {}),
    ...(task.privacy ? { privacy: task.privacy } : {}),
  };
}
