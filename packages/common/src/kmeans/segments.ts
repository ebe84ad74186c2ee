/**
 * What a segmentation job needs beyond plain Lloyd: mergeable feature moments for the
 * consortium's scaling, per-segment noised counts of customers with fraud, and plain
 * names for the segments.
 *
 * Moments are (count, mean, M2 = Σ(x − mean)²) per feature, merged with Chan, Golub &
 * LeVeque's parallel formula (1979), as the training scaler does (protocol FeatureStats):
 * Σx and Σx² cancel catastrophically for features whose mean is large against their
 * spread (total amounts).
 */
import type { Rng } from '../rng/index.js';
import { lloydStatistics, type Centres, type ClusterStatistics, type Points } from './lloyd.js';
import { clipRows, type KMeansPrivacy } from './privacy.js';

/** Per-feature count, mean and M2 of one bank's (or the merged) customer features. */
export interface Moments {
  count: number;
  mean: number[];
  m2: number[];
}

/** Two-pass moments of a set of points (mean first, then Σ(x − mean)²). */
export function momentsOf(p: Points): Moments {
  const mean = new Array<number>(p.d).fill(0);
  const m2 = new Array<number>(p.d).fill(0);
  if (p.n === 0) return { count: 0, mean, m2 };
  for (let i = 0; i < p.n; i++) for (let t = 0; t < p.d; t++) mean[t]! += p.data[i * p.d + t]!;
  for (let t = 0; t < p.d; t++) mean[t]! /= p.n;
  for (let i = 0; i < p.n; i++)
    for (let t = 0; t < p.d; t++) {
      const dev = p.data[i * p.d + t]! - mean[t]!;
      m2[t]! += dev * dev;
    }
  return { count: p.n, mean, m2 };
}

/** Chan et al.'s pairwise merge, folded over the list. Throws on an empty list or mismatched dimensions. */
export function mergeMomentsChan(list: readonly Moments[]): Moments {
  if (list.length === 0) throw new Error('mergeMomentsChan needs at least one set of moments');
  const d = list[0]!.mean.length;
  let out: Moments = { count: 0, mean: new Array<number>(d).fill(0), m2: new Array<number>(d).fill(0) };
  for (const m of list) {
    if (m.mean.length !== d || m.m2.length !== d)
      throw new Error(`moments with ${m.mean.length} features cannot be merged with ${d}`);
    if (m.count === 0) continue;
    const n = out.count + m.count;
    const mean = out.mean.map((a, t) => a + ((m.mean[t]! - a) * m.count) / n);
    const m2 = out.m2.map((a, t) => {
      const delta = m.mean[t]! - out.mean[t]!;
      return a + m.m2[t]! + (delta * delta * out.count * m.count) / n;
    });
    out = { count: n, mean, m2 };
  }
  return out;
}

/** The standard scaling of the merged moments: population std; a constant feature gets std 1. */
export interface Scaling {
  mean: number[];
  std: number[];
}

export function scalingOf(m: Moments): Scaling {
  if (m.count === 0) throw new Error('no customers: cannot scale');
  return {
    mean: [...m.mean],
    std: m.m2.map((v) => {
      const variance = v / m.count;
      return variance > 1e-12 ? Math.sqrt(variance) : 1;
    }),
  };
}

/** (x − mean) / std per feature. */
export function scalePoints(p: Points, s: Scaling): Points {
  const data = new Float64Array(p.data.length);
  for (let i = 0; i < p.n; i++)
    for (let t = 0; t < p.d; t++) data[i * p.d + t] = (p.data[i * p.d + t]! - s.mean[t]!) / s.std[t]!;
  return { data, n: p.n, d: p.d };
}

/** Centres back in original units: c · std + mean. */
export function unscaleCentres(c: Centres, s: Scaling): Centres {
  const data = new Float64Array(c.data.length);
  for (let j = 0; j < c.k; j++)
    for (let t = 0; t < c.d; t++) data[j * c.d + t] = c.data[j * c.d + t]! * s.std[t]! + s.mean[t]!;
  return { data, k: c.k, d: c.d };
}

/** One bank's Lloyd statistics plus the per-segment count of its customers with fraud. */
export interface SegmentStatistics extends ClusterStatistics {
  /** k: customers with at least one labelled fraud per segment (noised with DP); absent without labels. */
  readonly frauds?: Float64Array;
}

/**
 * σ of the noise on every released coordinate when fraud counts ride along: adding or removing
 * one customer changes one sum by ≤ C, one count by 1 and one fraud count by ≤ 1, so the L2
 * sensitivity is √(C² + 2) (√(C² + 1) without labels, as in `statisticsSigma`).
 */
export function segmentSigma(p: KMeansPrivacy, labelled: boolean): number {
  return p.noiseMultiplier * Math.sqrt(p.clip * p.clip + (labelled ? 2 : 1));
}

/**
 * A bank's answer to one Lloyd stage: per-segment sums, counts and (with labels) fraud counts,
 * clipped to L2 norm C and noised with N(0, σ²), σ = `segmentSigma`, when `privacy` is given.
 * The whole release is one Gaussian mechanism of noise multiplier `privacy.noiseMultiplier`
 * (σ / sensitivity), accounted with `RdpAccountant.addGaussian` (Mironov 2017).
 * @param fraud per point 1 if the customer has a labelled fraud, else 0 (same order as `p`)
 */
export function segmentStatistics(
  p: Points,
  c: Centres,
  fraud: Uint8Array | null,
  privacy?: { privacy: KMeansPrivacy; rng: Rng },
): SegmentStatistics {
  const rows = privacy ? clipRows(p, privacy.privacy.clip) : p;
  const { k, d, sums, counts } = lloydStatistics(rows, c);
  let frauds: Float64Array | undefined;
  if (fraud) {
    frauds = new Float64Array(k);
    // The same assignment lloydStatistics made (nearest centre of the clipped row).
    for (let i = 0; i < rows.n; i++) if (fraud[i]) frauds[nearestIndex(rows, i, c)]! += 1;
  }
  if (!privacy) return { k, d, sums, counts, ...(frauds ? { frauds } : {}) };
  const sigma = segmentSigma(privacy.privacy, fraud !== null);
  const { rng } = privacy;
  const noised = (a: Float64Array) => Float64Array.from(a, (v) => v + sigma * rng.normal());
  return { k, d, sums: noised(sums), counts: noised(counts), ...(frauds ? { frauds: noised(frauds) } : {}) };
}

function nearestIndex(p: Points, i: number, c: Centres): number {
  let best = 0;
  let bestD = Infinity;
  for (let j = 0; j < c.k; j++) {
    let s = 0;
    for (let t = 0; t < p.d; t++) {
      const diff = p.data[i * p.d + t]! - c.data[j * c.d + t]!;
      s += diff * diff;
    }
    if (s < bestD) {
      bestD = s;
      best = j;
    }
  }
  return best;
}

/** Words for each customer feature (CUSTOMER_FEATURES order) when a segment is high or low on it. */
const WORDS: Record<string, { high: string; low: string }> = {
  mean_amount: { high: 'high amount', low: 'low amount' },
  total_amount: { high: 'high spend', low: 'low spend' },
  tx_per_day: { high: 'frequent', low: 'occasional' },
  night_share: { high: 'mostly at night', low: 'daytime' },
  weekend_share: { high: 'mostly at weekends', low: 'weekdays' },
  distinct_terminals: { high: 'many terminals', low: 'few terminals' },
};

/**
 * A plain name per segment from its centre in scaled units (z-scores against the consortium):
 * the two features furthest from the consortium mean (|z| ≥ 0.5) in words, e.g. "high amount,
 * mostly at night"; "typical" when no feature stands out. Night and weekend shares are named
 * "mostly at night / at weekends" only when the share itself is over one half (original units).
 */
export function segmentNames(scaled: Centres, original: Centres, features: readonly string[]): string[] {
  const out: string[] = [];
  for (let j = 0; j < scaled.k; j++) {
    const ranked = features
      .map((f, t) => ({ f, t, z: scaled.data[j * scaled.d + t]! }))
      .filter((x) => Math.abs(x.z) >= 0.5 && WORDS[x.f])
      .sort((a, b) => Math.abs(b.z) - Math.abs(a.z));
    const words: string[] = [];
    for (const { f, t, z } of ranked) {
      if (words.length === 2) break;
      const w = WORDS[f]!;
      const value = original.data[j * original.d + t]!;
      if (z > 0 && (f === 'night_share' || f === 'weekend_share') && value <= 0.5)
        words.push(f === 'night_share' ? 'often at night' : 'often at weekends');
      else words.push(z > 0 ? w.high : w.low);
    }
    out.push(words.length ? words.join(', ') : 'typical');
  }
  // Two segments with one name would be confusing in a table: number the repeats.
  const seen = new Map<string, number>();
  return out.map((n) => {
    const c = (seen.get(n) ?? 0) + 1;
    seen.set(n, c);
    return c === 1 ? n : `${n} (${c})`;
  });
}
