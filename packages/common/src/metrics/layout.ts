/**
 * The bin layout of federated score histograms ("sigmoid+logit", version 2).
 *
 * Why not equal-width bins over the probability [0, 1] (layout 1)? A confident model
 * saturates: float32 sigmoid(z) is exactly 1 for every logit z ≳ 16.6, and all of
 * [0.999, 1] (z ≳ 6.9) is one bin of 1000. On a small held-out set many frauds and a few
 * legitimate transactions then share the top bin and the federated AUPRC came out 0.780
 * where the exact value was 0.900. Equal-width bins over the logit alone resolve the tails
 * but are 20× coarser than probability bins around p = 0.5 (measured: 5× the AUPRC error
 * on overlapping scores, see docs/metrics-histograms.md).
 *
 * So bins have equal width in
 *
 *     u(z) = σ(z) + z / (2L),   z = the model's logit clamped to [−L, L], L = 40,
 *
 * half of the resolution following the probability (fine where scores are uncertain) and
 * half following the logit (fine where they saturate: a bin is at most 4L/B logits wide,
 * 0.16 with 1000 bins, anywhere in [−40, 40]). u is strictly increasing, so binning keeps
 * the model's ranking; logits beyond ±40 (probability within 4e-18 of 0 or 1) share the end
 * bins. The layout is fixed by (scale, logitMax, bins), all carried on the wire, so
 * histograms from different banks add up bin by bin and a histogram of another layout is
 * refused (protocol/messages.ts `ScoreHistogram`).
 */

/** Name of the layout on the wire (`ScoreHistogram.scale`). */
export const HISTOGRAM_SCALE = 'sigmoid+logit';
/** L: logits are clamped to [−L, L] before binning. */
export const HISTOGRAM_LOGIT_MAX = 40;
export const DEFAULT_HISTOGRAM_BINS = 1000;
export const MIN_HISTOGRAM_BINS = 2;
export const MAX_HISTOGRAM_BINS = 10_000;

/** σ(z) without overflow for large |z| (float64). */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * log(p / (1 − p)) computed stably (log p − log1p(−p)); ±Infinity at exactly 1 and 0,
 * which binning clamps to the end bins. For float32 probabilities this is all the
 * information there is: use the model's logits where they exist (saturated scores differ
 * only there).
 */
export function logit(p: number): number {
  if (Number.isNaN(p)) return NaN;
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  return Math.log(p) - Math.log1p(-p);
}

/** u(z) for z already clamped to [−L, L]. */
function layoutCoordinate(z: number): number {
  return sigmoid(z) + z / (2 * HISTOGRAM_LOGIT_MAX);
}

const U_MIN = layoutCoordinate(-HISTOGRAM_LOGIT_MAX);
const U_MAX = layoutCoordinate(HISTOGRAM_LOGIT_MAX);

/** The bin (0..bins−1) of a logit; ±Infinity go to the end bins, NaN is refused. */
export function binIndexOfLogit(z: number, bins: number): number {
  if (Number.isNaN(z)) throw new Error('cannot bin a NaN score');
  const L = HISTOGRAM_LOGIT_MAX;
  const clamped = z < -L ? -L : z > L ? L : z;
  const i = Math.floor(((layoutCoordinate(clamped) - U_MIN) / (U_MAX - U_MIN)) * bins);
  return i < 0 ? 0 : i >= bins ? bins - 1 : i;
}

/**
 * The logit at the lower edge of bin k (0 ≤ k ≤ bins): the smallest z (to double
 * precision) with `binIndexOfLogit(z) ≥ k`, so a threshold at this logit flags exactly
 * bins k..bins−1. −Infinity for k = 0 (the first bin also holds everything below −L),
 * +Infinity for k = bins. Bisection on binIndexOfLogit itself, which is non-decreasing.
 */
export function lowerEdgeLogit(k: number, bins: number): number {
  if (!Number.isInteger(k) || k < 0 || k > bins) throw new Error(`edge ${k} is not in 0..${bins}`);
  if (k === 0) return -Infinity;
  if (k === bins) return Infinity;
  let lo = -HISTOGRAM_LOGIT_MAX; // binIndexOfLogit(lo) < k
  let hi = HISTOGRAM_LOGIT_MAX; // binIndexOfLogit(hi) ≥ k
  for (;;) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) return hi;
    if (binIndexOfLogit(mid, bins) >= k) hi = mid;
    else lo = mid;
  }
}

/** Describes a histogram's layout for error messages, e.g. `sigmoid+logit, L = 40, 1000 bins`. */
export function describeLayout(h: { scale?: unknown; logitMax?: unknown; bins?: unknown }): string {
  return `${String(h.scale ?? 'no scale (probability bins, layout 1)')}, L = ${String(h.logitMax ?? '?')}, ${String(h.bins)} bins`;
}
