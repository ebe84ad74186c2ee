/**
 * Local Outlier Factor (Breunig, Kriegel, Ng & Sander, "LOF: Identifying Density-Based
 * Local Outliers", SIGMOD 2000) in novelty mode: fitted on reference rows (the bank's
 * population), it scores new rows against them.
 *
 * With N_k(x) the k nearest reference rows of x and k-dist(o) the distance from a
 * reference row o to its own k-th nearest other reference row:
 *   reach-dist(x, o) = max(d(x, o), k-dist(o))
 *   lrd(x) = 1 / (mean over o ∈ N_k(x) of reach-dist(x, o) + 1e-10)
 *   LOF(x) = mean over o ∈ N_k(x) of lrd(o) / lrd(x)
 * `scoreSamples` returns −LOF(x), exactly scikit-learn's `LocalOutlierFactor(novelty=True)
 * .score_samples` (same 1e-10 guard, k capped at n − 1, a reference row's own index
 * excluded from its neighbours but its duplicates kept at distance 0); equal within 1e-9
 * to the committed reference values (test/anomaly-lof.test.ts).
 */
import { checkMatrix, type Matrix } from './matrix.js';
import { kNearest } from './knn.js';

export interface LofOptions {
  /** Neighbours k (default 20; capped at reference rows − 1, as scikit-learn does). */
  numNeighbors?: number;
}

export interface LofModel {
  numFeatures: number;
  numNeighbors: number;
  /** The reference rows, row-major float64. */
  reference: Float64Array;
  numReference: number;
  /** k-dist of every reference row. */
  kDistance: Float64Array;
  /** Local reachability density of every reference row. */
  lrd: Float64Array;
}

export class LocalOutlierFactor {
  /**
   * @param negativeOutlierFactor −LOF of each reference row among the others (its own
   *   index excluded), scikit-learn's `negative_outlier_factor_`; known after `fit`,
   *   null for a model read back from JSON. Use it to score the population itself:
   *   `scoreSamples` on the reference rows would count each row as its own neighbour.
   */
  constructor(
    readonly model: LofModel,
    readonly negativeOutlierFactor: Float64Array | null = null,
  ) {}

  /** Fits on `x` (≥ 2 finite rows). Throws RangeError on bad input. O(n² · d). */
  static fit(x: Matrix, options: LofOptions = {}): LocalOutlierFactor {
    checkMatrix(x, 'LocalOutlierFactor.fit');
    const requested = options.numNeighbors ?? 20;
    if (!Number.isInteger(requested) || requested < 1)
      throw new RangeError(`numNeighbors must be ≥ 1, got ${requested}`);
    if (x.rows < 2) throw new RangeError(`LocalOutlierFactor needs at least 2 reference rows, got ${x.rows}`);
    const k = Math.min(requested, x.rows - 1);
    const d = x.cols;
    const ref = Float64Array.from(x.data.subarray(0, x.rows * d));
    const nb = kNearest(ref, x.rows, ref, x.rows, d, k, true);
    const kDistance = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) kDistance[i] = nb.distance[i * k + k - 1];
    const lrd = reachabilityDensity(nb.index, nb.distance, x.rows, k, kDistance);
    const nof = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += lrd[nb.index[i * k + j]] / lrd[i];
      nof[i] = -(s / k);
    }
    const model = { numFeatures: d, numNeighbors: k, reference: ref, numReference: x.rows, kDistance, lrd };
    return new LocalOutlierFactor(model, nof);
  }

  /** −LOF of every row of `x` (lower = more anomalous; about −1 for inliers). */
  scoreSamples(x: Matrix): Float64Array {
    const { numFeatures: d, numNeighbors: k, reference, numReference, kDistance, lrd } = this.model;
    checkMatrix(x, 'LocalOutlierFactor.scoreSamples', d);
    const q = x.data instanceof Float64Array ? x.data : Float64Array.from(x.data.subarray(0, x.rows * d));
    const nb = kNearest(reference, numReference, q, x.rows, d, k, false);
    const own = reachabilityDensity(nb.index, nb.distance, x.rows, k, kDistance);
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += lrd[nb.index[i * k + j]] / own[i];
      out[i] = -(s / k);
    }
    return out;
  }
}

/** lrd of each query row from its neighbours' indices/distances and their k-dist. */
function reachabilityDensity(
  index: Int32Array,
  distance: Float64Array,
  m: number,
  k: number,
  kDistance: Float64Array,
): Float64Array {
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.max(distance[i * k + j], kDistance[index[i * k + j]]);
    out[i] = 1 / (s / k + 1e-10);
  }
  return out;
}
