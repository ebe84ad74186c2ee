/**
 * Brute-force k nearest neighbours among a set of rows (squared Euclidean distance).
 * O(m² · d): about 70 M multiply-adds for 1,500 fraud rows × 30 features, well under a
 * second, and exact — an index structure would not pay for itself at these sizes.
 */

/**
 * For each of the `rows` (indices into the row-major `features` with `d` columns),
 * returns the positions (0..rows.length-1) of its k nearest other rows, nearest first,
 * ties broken by lower position so the result is deterministic. k must be < rows.length.
 */
export function nearestNeighbours(features: Float32Array, d: number, rows: ArrayLike<number>, k: number): Int32Array {
  const m = rows.length;
  if (!Number.isInteger(k) || k < 1 || k >= m) throw new RangeError(`k must be in [1, ${m - 1}], got ${k}`);
  // Gather the rows contiguously first: the inner loop then walks memory linearly.
  const x = new Float64Array(m * d);
  for (let a = 0; a < m; a++) for (let j = 0; j < d; j++) x[a * d + j] = features[rows[a] * d + j];
  const out = new Int32Array(m * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let a = 0; a < m; a++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    const oa = a * d;
    for (let b = 0; b < m; b++) {
      if (b === a) continue;
      const ob = b * d;
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const t = x[oa + j] - x[ob + j];
        dist += t * t;
      }
      // Strictly smaller only: equal distances keep the earlier (lower) position.
      if (dist >= bestD[k - 1]) continue;
      let p = k - 1;
      while (p > 0 && bestD[p - 1] > dist) {
        bestD[p] = bestD[p - 1];
        bestI[p] = bestI[p - 1];
        p--;
      }
      bestD[p] = dist;
      bestI[p] = b;
    }
    out.set(bestI, a * k);
  }
  return out;
}
