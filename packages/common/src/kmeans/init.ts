/**
 * Initial centres for federated k-means that reveal no customer.
 *
 * Choice: k-means++ on a DP-noised coarse histogram. Each bank clips its (scaled)
 * customer features to the public box [lo, hi]^d, counts them in a coarse grid of b^d
 * cells, and releases the counts with Gaussian noise (sensitivity 1: adding or removing
 * one customer changes one cell by one). The aggregator adds the banks' histograms and
 * runs weighted k-means++ on the cell centres, weighted by the clamped noisy counts,
 * followed by a few weighted Lloyd steps on the grid (post-processing: free in privacy).
 * The centres are therefore grid points or averages of grid points, never a customer's
 * row, and the only release is a noised histogram accounted like every other release.
 *
 * Why not uniformly within the public ranges: that costs no privacy but ignores where
 * the customers are; with skewed behaviour features most of the box is empty and
 * k-means then converges to poor local optima (many empty clusters). The histogram keeps
 * the shape of the data at a privacy cost that is one Gaussian release. `uniformInit`
 * is kept for the zero-ε case.
 *
 * k-means++: Arthur & Vassilvitskii 2007, with scikit-learn's greedy variant (2 + ln k
 * candidate draws per centre, keep the one that lowers the potential most).
 */
import type { Rng } from '../rng/index.js';
import { updateCentres, type Centres, type Points } from './lloyd.js';

/** Public per-feature ranges of the (scaled) features: the box everything is clipped to. */
export interface PublicBox {
  lo: readonly number[];
  hi: readonly number[];
}

function checkBox(box: PublicBox, d: number): void {
  if (box.lo.length !== d || box.hi.length !== d)
    throw new Error(`public box has ${box.lo.length}/${box.hi.length} bounds, the features have ${d} dimensions`);
  for (let t = 0; t < d; t++)
    if (!(box.hi[t]! > box.lo[t]!)) throw new Error(`public box: hi must exceed lo in dimension ${t}`);
}

/**
 * Weighted greedy k-means++ seeding: the first centre drawn with probability ∝ weight,
 * each next one ∝ weight·D² (D: distance to the nearest chosen centre), best of
 * `2 + ⌊ln k⌋` draws. Weights default to 1. Throws if fewer than k points have weight > 0.
 */
export function kmeansPlusPlus(p: Points, k: number, rng: Rng, weights?: ArrayLike<number>): Centres {
  const positive = weights ? Array.from({ length: p.n }, (_, i) => weights[i]!).filter((w) => w > 0).length : p.n;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`k must be a positive integer, got ${k}`);
  if (positive < k) throw new Error(`k = ${k} is larger than the number of points with weight (${positive})`);
  const w = (i: number) => (weights ? Math.max(0, weights[i]!) : 1);
  const d = p.d;
  const out = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const dist2 = (i: number, row: Float64Array, ro: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const diff = p.data[i * d + t]! - row[ro + t]!;
      s += diff * diff;
    }
    return s;
  };
  const drawProportional = (score: (i: number) => number, total: number): number => {
    let r = rng.next() * total;
    let last = -1;
    for (let i = 0; i < p.n; i++) {
      const s = score(i);
      if (s <= 0) continue;
      last = i;
      r -= s;
      if (r < 0) return i;
    }
    return last; // rounding at the end of the sum
  };
  let totalW = 0;
  for (let i = 0; i < p.n; i++) totalW += w(i);
  const first = drawProportional(w, totalW);
  out.set(p.data.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) closest[i] = dist2(i, out, 0);
  for (let c = 1; c < k; c++) {
    let pot = 0;
    for (let i = 0; i < p.n; i++) pot += w(i) * closest[i]!;
    let bestIdx = -1;
    let bestPot = Infinity;
    let bestClosest: Float64Array | null = null;
    for (let t = 0; t < trials; t++) {
      const cand = pot > 0 ? drawProportional((i) => w(i) * closest[i]!, pot) : drawProportional(w, totalW);
      const next = new Float64Array(p.n);
      let np = 0;
      for (let i = 0; i < p.n; i++) {
        next[i] = Math.min(closest[i]!, dist2(i, p.data, cand * d));
        np += w(i) * next[i]!;
      }
      if (np < bestPot) {
        bestPot = np;
        bestIdx = cand;
        bestClosest = next;
      }
    }
    out.set(p.data.subarray(bestIdx * d, bestIdx * d + d), c * d);
    closest.set(bestClosest!);
  }
  return { data: out, k, d };
}

/** k centres drawn uniformly in the public box: no privacy cost, poor quality on skewed data. */
export function uniformInit(k: number, box: PublicBox, rng: Rng): Centres {
  const d = box.lo.length;
  checkBox(box, d);
  const out = new Float64Array(k * d);
  for (let j = 0; j < k; j++)
    for (let t = 0; t < d; t++) out[j * d + t] = box.lo[t]! + rng.next() * (box.hi[t]! - box.lo[t]!);
  return { data: out, k, d };
}

/** The coarse grid: b bins per dimension over the public box (b^d cells, capped at 2^20). */
export interface Grid {
  box: PublicBox;
  bins: number;
}

function cellCount(g: Grid): number {
  const cells = g.bins ** g.box.lo.length;
  if (!(Number.isInteger(g.bins) && g.bins >= 1))
    throw new Error(`grid bins must be a positive integer, got ${g.bins}`);
  if (cells > 1 << 20)
    throw new Error(`a grid of ${g.bins}^${g.box.lo.length} = ${cells} cells is too large (max 2^20)`);
  return cells;
}

/** One bank's histogram of its points (clipped to the box) over the grid. Sensitivity 1 per customer. */
export function coarseHistogram(p: Points, g: Grid): Float64Array {
  checkBox(g.box, p.d);
  const h = new Float64Array(cellCount(g));
  for (let i = 0; i < p.n; i++) {
    let cell = 0;
    for (let t = 0; t < p.d; t++) {
      const lo = g.box.lo[t]!;
      const u = (p.data[i * p.d + t]! - lo) / (g.box.hi[t]! - lo);
      const b = Math.min(g.bins - 1, Math.max(0, Math.floor(u * g.bins)));
      cell = cell * g.bins + b;
    }
    h[cell]! += 1;
  }
  return h;
}

/** Adds N(0, σ²) to every cell (in place); σ = noise multiplier × sensitivity 1. */
export function noiseHistogram(h: Float64Array, noiseMultiplier: number, rng: Rng): Float64Array {
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0))
    throw new Error(`noise multiplier must be a non-negative number, got ${noiseMultiplier}`);
  for (let i = 0; i < h.length; i++) h[i]! += noiseMultiplier * rng.normal();
  return h;
}

/** The centres of the grid's cells, as points (cell order as in `coarseHistogram`). */
export function cellCentres(g: Grid): Points {
  const d = g.box.lo.length;
  const n = cellCount(g);
  const data = new Float64Array(n * d);
  for (let c = 0; c < n; c++) {
    let rest = c;
    for (let t = d - 1; t >= 0; t--) {
      const b = rest % g.bins;
      rest = Math.floor(rest / g.bins);
      const lo = g.box.lo[t]!;
      data[c * d + t] = lo + ((b + 0.5) / g.bins) * (g.box.hi[t]! - lo);
    }
  }
  return { data, n, d };
}

/**
 * Initial centres from the merged (noised) histogram: weighted k-means++ over the cell
 * centres (weights: noisy counts, set to 0 below `threshold`, e.g. 2σ of the merged
 * noise, so that the many empty cells do not pull centres with pure noise), then
 * `refineSteps` weighted Lloyd steps on the grid. Throws if fewer than k cells keep a
 * positive weight (k too large for the data, or the noise drowned it: use a coarser
 * grid or less noise).
 */
export function histogramInit(
  hist: Float64Array,
  g: Grid,
  k: number,
  rng: Rng,
  refineSteps = 10,
  threshold = 0,
): Centres {
  const cells = cellCentres(g);
  if (hist.length !== cells.n) throw new Error(`histogram has ${hist.length} cells, the grid ${cells.n}`);
  const w = Float64Array.from(hist, (v) => (v > threshold ? v : 0));
  const nonzero = w.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
  if (nonzero < k)
    throw new Error(
      `k = ${k} is larger than the number of occupied grid cells (${nonzero}): too few customers, or too much noise for this grid`,
    );
  let c = kmeansPlusPlus(cells, k, rng, w);
  for (let s = 0; s < refineSteps; s++) {
    // Weighted Lloyd step: each cell counts with its (clamped noisy) weight.
    const sums = new Float64Array(k * cells.d);
    const counts = new Float64Array(k);
    for (let i = 0; i < cells.n; i++) {
      if (w[i] === 0) continue;
      let best = 0;
      let bd = Infinity;
      for (let j = 0; j < k; j++) {
        let dd = 0;
        for (let t = 0; t < cells.d; t++) dd += (cells.data[i * cells.d + t]! - c.data[j * cells.d + t]!) ** 2;
        if (dd < bd) {
          bd = dd;
          best = j;
        }
      }
      counts[best]! += w[i]!;
      for (let t = 0; t < cells.d; t++) sums[best * cells.d + t]! += w[i]! * cells.data[i * cells.d + t]!;
    }
    c = updateCentres(c, { k, d: cells.d, sums, counts }).centres;
  }
  return c;
}
