/**
 * Lloyd's algorithm (Lloyd 1982) split the federated way: each bank computes sufficient
 * statistics of its own rows (per-cluster sums and counts under the current centres),
 * the statistics of all banks are added, and the new centres are sums / counts. Because
 * the sums and counts of a union are the sums of the parts, one federated step equals
 * one centralised step exactly (up to floating-point summation order).
 *
 * Shapes: points are row-major Float64Array n×d; centres row-major k×d.
 */

/** A set of n points in d dimensions, row-major. */
export interface Points {
  readonly data: Float64Array;
  readonly n: number;
  readonly d: number;
}

/** k centres in d dimensions, row-major. */
export interface Centres {
  readonly data: Float64Array;
  readonly k: number;
  readonly d: number;
}

/** One bank's (or the merged) sufficient statistics of a Lloyd step. */
export interface ClusterStatistics {
  readonly k: number;
  readonly d: number;
  /** k×d: sum of the points assigned to each centre. */
  readonly sums: Float64Array;
  /** k: number of points assigned to each centre (real-valued once noised). */
  readonly counts: Float64Array;
}

export function points(data: Float64Array | number[][], d?: number): Points {
  if (Array.isArray(data)) {
    const dd = data[0]?.length ?? d ?? 0;
    const flat = new Float64Array(data.length * dd);
    data.forEach((r, i) => {
      if (r.length !== dd) throw new Error(`row ${i} has ${r.length} values, expected ${dd}`);
      flat.set(r, i * dd);
    });
    return { data: flat, n: data.length, d: dd };
  }
  if (d === undefined || !(Number.isInteger(d) && d > 0) || data.length % d !== 0)
    throw new Error(`a flat array of ${data.length} values is not a whole number of rows of ${d}`);
  return { data, n: data.length / d, d };
}

export function centres(data: Float64Array, k: number, d: number): Centres {
  if (data.length !== k * d) throw new Error(`centres: expected ${k}×${d} = ${k * d} values, got ${data.length}`);
  return { data, k, d };
}

/** Index of the nearest centre to row i (squared Euclidean; ties go to the lowest index) and its squared distance. */
export function nearest(p: Points, i: number, c: Centres): { index: number; dist2: number } {
  let best = 0;
  let bestD = Infinity;
  const off = i * p.d;
  for (let j = 0; j < c.k; j++) {
    let s = 0;
    const co = j * c.d;
    for (let t = 0; t < p.d; t++) {
      const diff = p.data[off + t]! - c.data[co + t]!;
      s += diff * diff;
    }
    if (s < bestD) {
      bestD = s;
      best = j;
    }
  }
  return { index: best, dist2: bestD };
}

/**
 * The assignment half of a Lloyd step on one bank's rows: per-cluster sums and counts.
 * Also returns the local inertia (sum of squared distances to the nearest centre); it is
 * for local diagnostics and tests, and is NOT part of what a bank releases.
 */
export function lloydStatistics(p: Points, c: Centres): ClusterStatistics & { inertia: number } {
  if (p.d !== c.d) throw new Error(`points have ${p.d} features, centres have ${c.d}`);
  const sums = new Float64Array(c.k * c.d);
  const counts = new Float64Array(c.k);
  let inertia = 0;
  for (let i = 0; i < p.n; i++) {
    const { index, dist2 } = nearest(p, i, c);
    counts[index]! += 1;
    inertia += dist2;
    const off = i * p.d;
    const so = index * c.d;
    for (let t = 0; t < p.d; t++) sums[so + t]! += p.data[off + t]!;
  }
  return { k: c.k, d: c.d, sums, counts, inertia };
}

/** Adds the statistics of several banks (all for the same k and d). */
export function mergeStatistics(list: readonly ClusterStatistics[]): ClusterStatistics {
  if (list.length === 0) throw new Error('mergeStatistics needs at least one set of statistics');
  const { k, d } = list[0]!;
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (const s of list) {
    if (s.k !== k || s.d !== d)
      throw new Error(`statistics for k=${s.k}, d=${s.d} cannot be merged with k=${k}, d=${d}`);
    for (let i = 0; i < sums.length; i++) sums[i]! += s.sums[i]!;
    for (let j = 0; j < k; j++) counts[j]! += s.counts[j]!;
  }
  return { k, d, sums, counts };
}

export interface CentreUpdate {
  centres: Centres;
  /** Clusters whose (possibly noised) count was below `minCount`: they kept their previous centre. */
  empty: number[];
}

/**
 * The update half of a Lloyd step: centre j = sums_j / counts_j.
 *
 * Empty clusters keep their previous centre. That is deterministic, needs no extra data
 * (re-seeding at a far point, as scikit-learn does, would need a customer's row, which
 * a federated aggregator must never see), and a kept centre can win points back in the
 * next step. With noised statistics a count below `minCount` (default: anything ≤ 0
 * without noise; use ≥ a few noise standard deviations with DP) is treated as empty,
 * because dividing a noisy sum by a tiny noisy count gives a wild centre.
 */
export function updateCentres(prev: Centres, s: ClusterStatistics, minCount = Number.MIN_VALUE): CentreUpdate {
  if (s.k !== prev.k || s.d !== prev.d)
    throw new Error(`statistics for k=${s.k}, d=${s.d}; centres are k=${prev.k}, d=${prev.d}`);
  const out = new Float64Array(prev.data);
  const empty: number[] = [];
  for (let j = 0; j < s.k; j++) {
    const n = s.counts[j]!;
    if (!(n >= minCount)) {
      empty.push(j);
      continue;
    }
    for (let t = 0; t < s.d; t++) out[j * s.d + t] = s.sums[j * s.d + t]! / n;
  }
  return { centres: { data: out, k: prev.k, d: prev.d }, empty };
}

/** Sum over centres of the squared distance each moved (scikit-learn's `center_shift_tot`). */
export function centreShift(a: Centres, b: Centres): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const diff = a.data[i]! - b.data[i]!;
    s += diff * diff;
  }
  return s;
}

/** Converged when the total squared centre shift is at most `tol` (absolute, in squared feature units). */
export function hasConverged(prev: Centres, next: Centres, tol: number): boolean {
  return centreShift(prev, next) <= tol;
}

/** Inertia of points under centres: sum of squared distances to the nearest centre. */
export function inertia(p: Points, c: Centres): number {
  let s = 0;
  for (let i = 0; i < p.n; i++) s += nearest(p, i, c).dist2;
  return s;
}

export interface LloydOptions {
  maxIterations?: number;
  /** Absolute tolerance on the total squared centre shift (default 1e-10). */
  tol?: number;
}

export interface LloydResult {
  centres: Centres;
  iterations: number;
  converged: boolean;
  /** Inertia of all points under the final centres. */
  inertia: number;
}

/**
 * Centralised Lloyd from given initial centres: the reference the federated version is
 * checked against. Empty clusters keep their centre (as in `updateCentres`).
 */
export function lloyd(p: Points, init: Centres, o: LloydOptions = {}): LloydResult {
  const maxIt = o.maxIterations ?? 300;
  const tol = o.tol ?? 1e-10;
  let c = init;
  for (let it = 1; it <= maxIt; it++) {
    const next = updateCentres(c, lloydStatistics(p, c)).centres;
    const done = hasConverged(c, next, tol);
    c = next;
    if (done) return { centres: c, iterations: it, converged: true, inertia: inertia(p, c) };
  }
  return { centres: c, iterations: maxIt, converged: false, inertia: inertia(p, c) };
}
