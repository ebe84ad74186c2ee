/**
 * Federated k-means as a pure loop over in-memory shards: the round body a segmentation
 * workflow runs (banks answer `bankStatistics`, the aggregator merges and updates), here
 * driven without a network for tests, benchmarks and simulations. The workflow over
 * sockets calls the same functions.
 */
import type { Rng } from '../rng/index.js';
import { RdpAccountant } from '../dp/rdp.js';
import {
  centreShift,
  mergeStatistics,
  updateCentres,
  type Centres,
  type ClusterStatistics,
  type Points,
} from './lloyd.js';
import { accountRounds, bankStatistics, statisticsSigma, type KMeansPrivacy } from './privacy.js';

export interface FederatedKMeansOptions {
  /** Round budget (default 100). */
  maxRounds?: number;
  /** Absolute tolerance on the total squared centre shift (default 1e-10). */
  tol?: number;
  privacy?: KMeansPrivacy;
  /** Noise randomness, one per bank in reality; here one generator forked per bank. */
  rng?: Rng;
  /** Minimum customers for a bank to answer (default 1). */
  minCustomers?: number;
  /**
   * Merged counts below this are treated as empty clusters (keep the previous centre).
   * Default: 0⁺ without noise; with noise 3σ·√(answering banks), σ the per-bank noise.
   */
  minCount?: number;
  /** Accountant to record the releases in (one per round per bank: each bank's own ε). */
  accountant?: RdpAccountant;
  /** Bank names for decline messages (default bank-0, bank-1, ...). */
  bankNames?: readonly string[];
}

export interface FederatedRound {
  round: number;
  answered: number;
  declined: { bank: string; reason: string }[];
  /** Clusters that kept their previous centre this round. */
  empty: number[];
  shift: number;
}

export interface FederatedKMeansResult {
  centres: Centres;
  rounds: FederatedRound[];
  converged: boolean;
  /** Merged (noised, if DP) counts of the last round: the released segment sizes. */
  counts: Float64Array;
  accountant?: RdpAccountant;
}

/**
 * Projects each centre into the L2 ball of radius r (where all clipped points lie): with DP, a
 * noisy sum over a small noisy count can land far outside the data; post-processing, free in privacy.
 */
export function projectToBall(c: Centres, r: number): Centres {
  const out = new Float64Array(c.data);
  for (let j = 0; j < c.k; j++) {
    let s = 0;
    for (let t = 0; t < c.d; t++) s += out[j * c.d + t]! ** 2;
    const norm = Math.sqrt(s);
    if (norm > r) for (let t = 0; t < c.d; t++) out[j * c.d + t]! *= r / norm;
  }
  return { data: out, k: c.k, d: c.d };
}

/**
 * Runs Lloyd rounds until the centres move less than `tol` or the round budget is spent.
 * Throws only if no bank answers a round (every reason is in the message); a declining
 * bank is recorded and skipped.
 */
export function federatedKMeans(
  shards: readonly Points[],
  init: Centres,
  o: FederatedKMeansOptions = {},
): FederatedKMeansResult {
  const maxRounds = o.maxRounds ?? 100;
  const tol = o.tol ?? 1e-10;
  if (o.privacy && !o.rng) throw new Error('federatedKMeans: privacy needs an rng');
  const names = shards.map((_, i) => o.bankNames?.[i] ?? `bank-${i}`);
  const rngs = o.privacy ? shards.map(() => o.rng!.fork()) : [];
  const rounds: FederatedRound[] = [];
  let c = init;
  let counts: Float64Array = new Float64Array(init.k);
  for (let r = 1; r <= maxRounds; r++) {
    const answers: ClusterStatistics[] = [];
    const declined: FederatedRound['declined'] = [];
    shards.forEach((p, i) => {
      const a = bankStatistics(p, c, {
        ...(o.minCustomers !== undefined ? { minCustomers: o.minCustomers } : {}),
        ...(o.privacy ? { privacy: o.privacy, rng: rngs[i]! } : {}),
        bank: names[i]!,
      });
      if (a.ok) answers.push(a.statistics);
      else declined.push({ bank: names[i]!, reason: a.reason });
    });
    if (answers.length === 0)
      throw new Error(`round ${r}: no bank released statistics (${declined.map((d) => d.reason).join('; ')})`);
    if (o.privacy && o.accountant) accountRounds(o.accountant, o.privacy, 1);
    const merged = mergeStatistics(answers);
    counts = merged.counts;
    const minCount =
      o.minCount ?? (o.privacy ? 3 * statisticsSigma(o.privacy) * Math.sqrt(answers.length) : Number.MIN_VALUE);
    const up = updateCentres(c, merged, minCount);
    const next = o.privacy ? projectToBall(up.centres, o.privacy.clip) : up.centres;
    const shift = centreShift(c, next);
    rounds.push({ round: r, answered: answers.length, declined, empty: up.empty, shift });
    const done = shift <= tol;
    c = next;
    if (done)
      return { centres: c, rounds, converged: true, counts, ...(o.accountant ? { accountant: o.accountant } : {}) };
  }
  return { centres: c, rounds, converged: false, counts, ...(o.accountant ? { accountant: o.accountant } : {}) };
}
