/**
 * Exact k nearest neighbours by brute force over typed arrays (Euclidean distance).
 * O(queries × references × features): 10k × 10k × 12 features is about a second here,
 * and exact — what Local Outlier Factor needs to match scikit-learn to 1e-9. Fine up to
 * ~100k reference rows; an index would not pay for itself below that.
 *
 * Distances are computed directly as √Σ(xⱼ − yⱼ)², in feature order, like
 * scikit-learn's KD tree (not the |x|² − 2x·y + |y|² expansion, which turns exact
 * duplicates into distances of ~1e-8 instead of 0). Ties at equal distance are broken
 * by the lower reference index.
 */

export interface Neighbours {
  k: number;
  /** queries × k, nearest first. */
  index: Int32Array;
  /** queries × k Euclidean distances, ascending. */
  distance: Float64Array;
}

/**
 * For each query row (row-major `queries`, `d` columns) the k nearest of the `n`
 * reference rows. With `excludeSelf`, queries ARE the references and each row skips its
 * own index (not its duplicates: a duplicate is a neighbour at distance 0, as in
 * scikit-learn's `kneighbors()` with no argument).
 */
export function kNearest(
  refs: Float64Array,
  n: number,
  queries: Float64Array,
  m: number,
  d: number,
  k: number,
  excludeSelf: boolean,
): Neighbours {
  const available = excludeSelf ? n - 1 : n;
  if (!Number.isInteger(k) || k < 1 || k > available) throw new RangeError(`k must be in [1, ${available}], got ${k}`);
  const index = new Int32Array(m * k);
  const distance = new Float64Array(m * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let a = 0; a < m; a++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    let worst = Infinity;
    const oa = a * d;
    for (let b = 0; b < n; b++) {
      if (excludeSelf && b === a) continue;
      const ob = b * d;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = queries[oa + j] - refs[ob + j];
        s += t * t;
        if (s > worst) break; // squared distances only grow: cannot enter the top k
      }
      if (s >= worst) continue; // equal to the k-th: the earlier (lower) index stays
      // Insertion into the sorted top k; strict < keeps lower indices first among ties.
      let pos = k - 1;
      while (pos > 0 && bestD[pos - 1] > s) {
        bestD[pos] = bestD[pos - 1];
        bestI[pos] = bestI[pos - 1];
        pos--;
      }
      bestD[pos] = s;
      bestI[pos] = b;
      worst = bestD[k - 1];
    }
    for (let i = 0; i < k; i++) {
      index[a * k + i] = bestI[i];
      distance[a * k + i] = Math.sqrt(bestD[i]);
    }
  }
  return { k, index, distance };
}
