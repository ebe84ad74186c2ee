/**
 * Differential privacy for federated k-means: what a bank does to its per-cluster sums
 * and counts before they leave it, the minimum-count filter, and the accounting.
 *
 * Mechanism (DP-Lloyd, Blum, Dwork, McSherry & Nissim 2005 "SuLQ"; Su et al. 2016): each
 * customer's scaled feature vector is clipped to L2 norm C. Adding or removing one
 * customer then changes one cluster's sum by at most C and its count by 1, so the whole
 * release (sums ‖ counts) has L2 sensitivity Δ = √(C² + 1). Every coordinate gets
 * N(0, (z·Δ)²), a Gaussian mechanism with noise multiplier z: RDP α/(2z²) per round
 * (Mironov 2017), recorded with `RdpAccountant.addGaussian(z)`. Neighbouring data sets
 * are add/remove one customer of this bank.
 *
 * Minimum-count filter: a bank with fewer than `minCustomers` customers declines the round
 * with a reason (as NVIDIA FLARE's statistics `min_count` privacy filter does): with a
 * handful of customers even noised per-cluster sums say too much about each of them.
 */
import type { Rng } from '../rng/index.js';
import { RdpAccountant } from '../dp/rdp.js';
import { lloydStatistics, type Centres, type ClusterStatistics, type Points } from './lloyd.js';

/**
 * The least noise multiplier z a segmentation release counts as differentially private with, on
 * both sides: the aggregator refuses to ask for less, and a bank answers a job asking for less
 * only as an exact answer. At z = 1 the noise's standard deviation equals the most one customer
 * can change a release, so one release cannot single a customer out (ε ≈ 4.8 at δ = 1e-5).
 */
export const MIN_SEGMENT_NOISE_MULTIPLIER = 1;

export interface KMeansPrivacy {
  /** L2 bound C of each customer's feature vector (scaled units). */
  clip: number;
  /** Noise multiplier z: σ = z·√(C² + 1) on every sum and count. */
  noiseMultiplier: number;
}

/** Σ of the noise on every released coordinate. */
export function statisticsSigma(p: KMeansPrivacy): number {
  return p.noiseMultiplier * Math.sqrt(p.clip * p.clip + 1);
}

/** A copy of the points with every row scaled down to L2 norm ≤ clip. */
export function clipRows(p: Points, clip: number): Points {
  if (!(Number.isFinite(clip) && clip > 0)) throw new Error(`clip must be a positive number, got ${clip}`);
  const out = new Float64Array(p.data);
  for (let i = 0; i < p.n; i++) {
    let s = 0;
    for (let t = 0; t < p.d; t++) s += out[i * p.d + t]! ** 2;
    const norm = Math.sqrt(s);
    if (norm > clip) for (let t = 0; t < p.d; t++) out[i * p.d + t]! *= clip / norm;
  }
  return { data: out, n: p.n, d: p.d };
}

/** Adds N(0, σ²), σ = statisticsSigma(p), to every sum and count (returns new arrays). */
export function privatizeStatistics(s: ClusterStatistics, p: KMeansPrivacy, rng: Rng): ClusterStatistics {
  if (!(Number.isFinite(p.noiseMultiplier) && p.noiseMultiplier >= 0))
    throw new Error(`noise multiplier must be a non-negative number, got ${p.noiseMultiplier}`);
  const sigma = statisticsSigma(p);
  const sums = Float64Array.from(s.sums, (v) => v + sigma * rng.normal());
  const counts = Float64Array.from(s.counts, (v) => v + sigma * rng.normal());
  return { k: s.k, d: s.d, sums, counts };
}

export type BankAnswer = { ok: true; statistics: ClusterStatistics } | { ok: false; reason: string };

export interface BankStepOptions {
  /** Decline when the bank has fewer customers than this (default 1: only an empty bank declines). */
  minCustomers?: number;
  /** Clip and noise the statistics; omitted: exact statistics (no DP). */
  privacy?: KMeansPrivacy;
  /** Randomness for the noise: `cryptoRng()` in production. Required with `privacy`. */
  rng?: Rng;
  /** For the decline message. */
  bank?: string;
}

/**
 * What one bank answers in a Lloyd round: its (optionally clipped and noised) per-cluster
 * sums and counts, or a declined answer with the reason. Never throws for a small bank:
 * a decline is an answer, so one small bank cannot crash a round.
 */
export function bankStatistics(p: Points, c: Centres, o: BankStepOptions = {}): BankAnswer {
  const who = o.bank ? `bank ${o.bank}` : 'this bank';
  const min = o.minCustomers ?? 1;
  if (p.n < min)
    return {
      ok: false,
      reason: `${who} has ${p.n} customer${p.n === 1 ? '' : 's'}, fewer than the minimum of ${min} needed to release noised cluster statistics`,
    };
  if (p.d !== c.d) return { ok: false, reason: `${who} has ${p.d} features, the centres have ${c.d}` };
  if (!o.privacy) {
    const { k, d, sums, counts } = lloydStatistics(p, c);
    return { ok: true, statistics: { k, d, sums, counts } };
  }
  if (!o.rng) throw new Error('bankStatistics: privacy needs an rng (cryptoRng() in production)');
  const { k, d, sums, counts } = lloydStatistics(clipRows(p, o.privacy.clip), c);
  return { ok: true, statistics: privatizeStatistics({ k, d, sums, counts }, o.privacy, o.rng) };
}

/** Records `rounds` releases of noised statistics (one Gaussian release each) with the existing accountant. */
export function accountRounds(acc: RdpAccountant, p: KMeansPrivacy, rounds = 1): RdpAccountant {
  return acc.addGaussian(p.noiseMultiplier, rounds);
}

/**
 * Checks k against the number of customers before a segmentation starts: k must be a
 * positive integer no larger than the customers taking part.
 */
export function validateK(k: number, customers: number): void {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`k must be a positive integer, got ${k}`);
  if (k > customers)
    throw new Error(`k = ${k} segments is larger than the number of customers (${customers}): choose k ≤ ${customers}`);
}
