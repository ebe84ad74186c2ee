/**
 * Who shares secrets with whom. SecAgg (Bonawitz et al. 2017) uses the complete graph:
 * every bank masks with and holds shares of every other, O(n) work and messages per
 * bank. SecAgg+ (Bell et al. 2020, §3) replaces it with a random sparse graph of degree
 * k = O(log n): the Harary graph H(n, k) (each node joined to its k/2 nearest on each
 * side of a ring) under a uniformly random relabelling of the nodes, which stays
 * connected and keeps every neighbourhood honest-majority with high probability.
 *
 * Neighbourhoods here are *closed*: a bank belongs to its own neighbourhood (it keeps
 * one share of its own secrets), so |N[x]| = k + 1 and the threshold t is counted over
 * the same set. t must be a strict majority of every neighbourhood: two disjoint sets
 * of t holders cannot both exist, so no two conflicting reconstructions can happen.
 */
import { compareBankIds, SecAggError } from './errors.js';
import { seededRandomSource } from './random.js';

export type GraphSpec =
  | { kind: 'complete' }
  /** Random Harary graph of degree `degree` (neighbours besides the bank itself), seeded. */
  | { kind: 'harary'; degree: number; seed: Uint8Array };

/** Closed neighbourhoods: bank id → sorted ids of its neighbours, including itself. */
export type Neighbourhoods = ReadonlyMap<string, ReadonlyArray<string>>;

/**
 * The neighbourhoods of `banks` (distinct ids) under `spec`. The result depends only on
 * the sorted ids and the spec, so every bank and the aggregator compute the same graph.
 * A Harary degree ≥ n − 1 is the complete graph. An odd degree needs an even n (the
 * extra edge joins antipodes, Harary 1962).
 */
export function neighbourhoods(banks: ReadonlyArray<string>, spec: GraphSpec): Neighbourhoods {
  const ids = [...banks].sort(compareBankIds);
  if (new Set(ids).size !== ids.length) throw new SecAggError('invalid_params', 'graph: bank ids must be distinct');
  const n = ids.length;
  if (spec.kind === 'complete' || spec.degree >= n - 1) {
    return new Map(ids.map((id) => [id, ids]));
  }
  const k = spec.degree;
  if (!Number.isInteger(k) || k < 1)
    throw new SecAggError('invalid_params', `graph: degree ${k} must be a positive integer`);
  if (k % 2 === 1 && n % 2 === 1) {
    throw new SecAggError('invalid_params', `graph: an odd degree (${k}) needs an even number of banks (got ${n})`);
  }
  if (spec.seed.length !== 32) throw new SecAggError('invalid_params', 'graph: the seed must be 32 bytes');
  const ring = permutation(n, spec.seed).map((i) => ids[i]!);
  const sets = new Map<string, Set<string>>(ids.map((id) => [id, new Set([id])]));
  const link = (a: number, b: number): void => {
    sets.get(ring[a]!)!.add(ring[b % n]!);
    sets.get(ring[b % n]!)!.add(ring[a]!);
  };
  for (let i = 0; i < n; i++) {
    for (let d = 1; d <= k >> 1; d++) link(i, i + d);
    if (k % 2 === 1 && i < n / 2) link(i, i + n / 2);
  }
  return new Map(ids.map((id) => [id, [...sets.get(id)!].sort(compareBankIds)]));
}

/**
 * Checks that `threshold` works for every neighbourhood: 2 ≤ t ≤ |N[x]| ≤ 255 and
 * t > |N[x]| / 2. Throws SecAggError('invalid_params') naming the banks that fail.
 */
export function checkThreshold(graph: Neighbourhoods, threshold: number): void {
  if (!Number.isInteger(threshold) || threshold < 2) {
    throw new SecAggError('invalid_params', `threshold ${threshold} must be an integer ≥ 2`);
  }
  for (const [bank, hood] of graph) {
    const size = hood.length;
    if (size > 255) {
      throw new SecAggError(
        'invalid_params',
        `${bank} has ${size} neighbours; Shamir over GF(256) allows at most 255`,
        {
          banks: [bank],
        },
      );
    }
    if (threshold > size || 2 * threshold <= size) {
      throw new SecAggError(
        'invalid_params',
        `threshold ${threshold} must be more than half of, and at most, ${bank}'s neighbourhood of ${size} (itself included)`,
        { banks: [bank] },
      );
    }
  }
}

/** Uniform permutation of 0..n−1 (Fisher–Yates, rejection-sampled indices) from the seed. */
function permutation(n: number, seed: Uint8Array): number[] {
  const random = seededRandomSource(seed);
  const word = new Uint32Array(1);
  const bytes = new Uint8Array(word.buffer);
  const below = (m: number): number => {
    const limit = Math.floor(4294967296 / m) * m;
    for (;;) {
      random.fill(bytes);
      if (word[0]! < limit) return word[0]! % m;
    }
  };
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = below(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
