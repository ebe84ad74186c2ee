/**
 * Turning anomaly scores into flags. Scores here are anomaly scores (higher = more
 * anomalous: −scoreSamples). With an expected contamination c, scikit-learn sets the
 * cut at the c-quantile of `score_samples` (numpy's linear percentile) and flags rows
 * strictly beyond it; this is the same cut on the negated scores.
 */

/** Linear-interpolation quantile (numpy's default `percentile` method), q in [0, 1]. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const s = Float64Array.from(values).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * The anomaly-score cut for an expected contamination in (0, 0.5]: rows with a score
 * strictly above it are flagged (about contamination × rows of them, fewer with ties).
 */
export function contaminationThreshold(anomalyScores: ArrayLike<number>, contamination: number): number {
  if (!(contamination > 0 && contamination <= 0.5)) {
    throw new RangeError(`contamination must be in (0, 0.5], got ${contamination}`);
  }
  return quantile(anomalyScores, 1 - contamination);
}
