/**
 * Background sets: what "this feature is unknown" is averaged over. Following
 * KernelSHAP's practice (Lundberg & Lee 2017; `shap.kmeans`), a bank summarises its own
 * scaled data by a few k-means centroids weighted by cluster size: explaining against k
 * weighted centroids costs k model rows per coalition instead of thousands, and the
 * weighted mean logit stays close to the data's.
 *
 * The centroids are means of many of the bank's rows, never one customer's row, and the
 * background never leaves the bank.
 */
import { kmeansPlusPlus } from '../kmeans/init.js';
import { lloyd, lloydStatistics, points, type Points } from '../kmeans/lloyd.js';
import type { Rng } from '../rng/index.js';
import type { Background, ModelFunction } from './types.js';

/**
 * A background from explicit rows (row-major n×d), weighted uniformly or by `weights`
 * (non-negative, not all zero; normalised to sum 1 here).
 */
export function backgroundFromRows(data: ArrayLike<number>, d: number, weights?: ArrayLike<number>): Background {
  if (!(Number.isInteger(d) && d > 0)) throw new Error(`background: d must be a positive integer, got ${d}`);
  if (data.length === 0 || data.length % d !== 0)
    throw new Error(`background: ${data.length} values are not a whole, non-zero number of rows of ${d} features`);
  const n = data.length / d;
  const rows = Float64Array.from(data);
  for (let i = 0; i < rows.length; i++)
    if (!Number.isFinite(rows[i]!))
      throw new Error(`background: row ${Math.floor(i / d)}, feature ${i % d} is not finite (${rows[i]})`);
  const w = new Float64Array(n);
  if (weights) {
    if (weights.length !== n) throw new Error(`background: ${weights.length} weights for ${n} rows`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = weights[i]!;
      if (!(v >= 0 && Number.isFinite(v))) throw new Error(`background: weight ${i} is ${v}; weights must be ≥ 0`);
      total += v;
    }
    if (!(total > 0)) throw new Error('background: all weights are zero');
    for (let i = 0; i < n; i++) w[i] = weights[i]! / total;
  } else w.fill(1 / n);
  return { data: rows, n, d, weights: w };
}

export interface KMeansBackgroundOptions {
  /** Number of centroids (default 8). Fewer rows than k: the rows themselves are the background. */
  k?: number;
  /** Seeds k-means++ and the row subsample. */
  rng: Rng;
  /** Lloyd runs on at most this many rows, drawn without replacement (default 20,000). */
  maxRows?: number;
  /** Lloyd iterations (default 50). */
  maxIterations?: number;
}

/**
 * k-means centroids of the bank's own scaled rows (row-major n×d), weighted by the share
 * of rows in each cluster (k-means++ seeding, then Lloyd; kmeans/). Empty clusters are
 * dropped. Deterministic for a given seed. Throws on no rows or non-finite values.
 */
export function kmeansBackground(data: ArrayLike<number>, d: number, opts: KMeansBackgroundOptions): Background {
  const k = opts.k ?? 8;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`background: k must be a positive integer, got ${k}`);
  if (!(Number.isInteger(d) && d > 0)) throw new Error(`background: d must be a positive integer, got ${d}`);
  if (data.length === 0 || data.length % d !== 0)
    throw new Error(`background: ${data.length} values are not a whole, non-zero number of rows of ${d} features`);
  const n = data.length / d;
  if (n <= k) return backgroundFromRows(data, d);
  const maxRows = opts.maxRows ?? 20_000;
  const sample = sampleRows(data, n, d, Math.min(n, maxRows), opts.rng);
  for (let i = 0; i < sample.data.length; i++)
    if (!Number.isFinite(sample.data[i]!))
      throw new Error(`background: a row has a non-finite value (${sample.data[i]})`);
  const init = kmeansPlusPlus(sample, k, opts.rng);
  const fit = lloyd(sample, init, { maxIterations: opts.maxIterations ?? 50, tol: 1e-8 });
  const { counts } = lloydStatistics(sample, fit.centres);
  const keep: number[] = [];
  for (let j = 0; j < k; j++) if (counts[j]! > 0) keep.push(j);
  const out = new Float64Array(keep.length * d);
  const w = new Float64Array(keep.length);
  keep.forEach((j, r) => {
    out.set(fit.centres.data.subarray(j * d, j * d + d), r * d);
    w[r] = counts[j]!;
  });
  return backgroundFromRows(out, d, w);
}

/** `m` rows drawn without replacement (partial Fisher–Yates), or all rows in order. */
function sampleRows(data: ArrayLike<number>, n: number, d: number, m: number, rng: Rng): Points {
  const out = new Float64Array(m * d);
  if (m === n) {
    for (let i = 0; i < out.length; i++) out[i] = data[i]!;
    return points(out, d);
  }
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
    const from = idx[i]! * d;
    for (let t2 = 0; t2 < d; t2++) out[i * d + t2] = data[from + t2]!;
  }
  return points(out, d);
}

/** E[f(background)]: the weighted mean of the model over the background rows. */
export function expectedValue(f: ModelFunction, bg: Background): number {
  const y = f(bg.data, bg.n);
  let s = 0;
  for (let i = 0; i < bg.n; i++) s += bg.weights[i]! * y[i]!;
  return s;
}
