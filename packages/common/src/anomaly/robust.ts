/**
 * Robust per-feature location and scale (median and MAD) of a population, and robust
 * z-scores against it: z = (x − median) / (1.4826 · MAD). 1.4826 makes the MAD a
 * consistent estimator of the standard deviation for normal data (Rousseeuw & Croux
 * 1993), so "4 robust SDs" reads like a z-score but a few extreme accounts cannot
 * inflate the scale and hide themselves.
 *
 * When more than half the population shares one value (MAD = 0: e.g. "share of night
 * transactions" is 0 for most accounts) the scale falls back to 1.2533 · mean absolute
 * deviation from the median (the same consistency idea for the mean deviation); if that
 * is 0 too, every account has the same value and z is 0 for it and ±Infinity otherwise.
 */
import type { Matrix } from './matrix.js';

export interface RobustStats {
  median: Float64Array;
  /** 1.4826·MAD, or the fallback described above; 0 only for a constant feature. */
  scale: Float64Array;
}

function medianOf(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Per-feature median and robust scale of the rows of `x` (needs ≥ 1 row). */
export function robustStats(x: Matrix): RobustStats {
  if (x.rows < 1) throw new RangeError('robustStats needs at least one row');
  const median = new Float64Array(x.cols);
  const scale = new Float64Array(x.cols);
  const col = new Float64Array(x.rows);
  for (let j = 0; j < x.cols; j++) {
    for (let i = 0; i < x.rows; i++) col[i] = x.data[i * x.cols + j];
    const med = medianOf(col);
    let meanAbs = 0;
    for (let i = 0; i < x.rows; i++) {
      col[i] = Math.abs(col[i] - med);
      meanAbs += col[i];
    }
    meanAbs /= x.rows;
    const mad = medianOf(col);
    median[j] = med;
    scale[j] = mad > 0 ? 1.4826 * mad : 1.2533 * meanAbs;
  }
  return { median, scale };
}

/** Robust z of one value of feature j. */
export function robustZ(value: number, stats: RobustStats, j: number): number {
  const diff = value - stats.median[j];
  if (diff === 0) return 0;
  const s = stats.scale[j];
  return s > 0 ? diff / s : diff > 0 ? Infinity : -Infinity;
}

/** Robust z-scores of every row (rows × features, row-major). */
export function robustZScores(x: Matrix, stats: RobustStats): Float64Array {
  const out = new Float64Array(x.rows * x.cols);
  for (let i = 0; i < x.rows; i++)
    for (let j = 0; j < x.cols; j++) out[i * x.cols + j] = robustZ(x.data[i * x.cols + j], stats, j);
  return out;
}

/**
 * Rows scaled to robust z-scores, clipped to ±clip so that a constant-feature ±Infinity
 * stays usable as a detector input (LOF distances need finite values).
 */
export function robustScale(x: Matrix, stats: RobustStats, clip = 1e6): Matrix {
  const z = robustZScores(x, stats);
  for (let i = 0; i < z.length; i++) z[i] = Math.max(-clip, Math.min(clip, z[i]));
  return { data: z, rows: x.rows, cols: x.cols };
}
