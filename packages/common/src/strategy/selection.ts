/**
 * Random selection of the banks that train in a round. Deterministic given the rng:
 * candidates are sorted by bank id first, so the choice does not depend on the order in
 * which banks happened to connect (a Map's insertion order), only on the seed.
 */
import type { Rng } from '../rng/index.js';
import type { BankCandidate } from './types.js';

/** max(minBanks, ceil(fraction × n)), at most n. */
export function selectionSize(numCandidates: number, fraction: number, minBanks: number): number {
  if (!Number.isInteger(numCandidates) || numCandidates < 0)
    throw new Error(`numCandidates must be a non-negative integer, got ${numCandidates}`);
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`fraction must be in [0, 1], got ${fraction}`);
  if (!Number.isInteger(minBanks) || minBanks < 0)
    throw new Error(`minBanks must be a non-negative integer, got ${minBanks}`);
  // 0.1 × 30 is 3.0000000000000004 in binary floating point: without the slack, ceil
  // would pick 4 banks where everybody means 3.
  const byFraction = Math.ceil(fraction * numCandidates - 1e-9);
  return Math.min(numCandidates, Math.max(minBanks, byFraction));
}

/**
 * Choose `selectionSize(...)` distinct candidates uniformly at random (partial
 * Fisher-Yates on the id-sorted list). Returns them sorted by bank id. When every
 * candidate is taken, no randomness is consumed.
 */
export function selectBanks(
  candidates: readonly BankCandidate[],
  fraction: number,
  minBanks: number,
  rng: Rng,
): BankCandidate[] {
  const sorted = [...candidates].sort((a, b) => (a.bankId < b.bankId ? -1 : a.bankId > b.bankId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.bankId === sorted[i - 1]!.bankId) throw new Error(`duplicate candidate bank "${sorted[i]!.bankId}"`);
  }
  const k = selectionSize(sorted.length, fraction, minBanks);
  if (k === sorted.length) return sorted;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(sorted.length - i);
    const t = sorted[i]!;
    sorted[i] = sorted[j]!;
    sorted[j] = t;
  }
  return sorted.slice(0, k).sort((a, b) => (a.bankId < b.bankId ? -1 : a.bankId > b.bankId ? 1 : 0));
}
