/**
 * The masking arithmetic of SecAgg (Bonawitz et al. 2017, §4), over Z_{2^32}.
 *
 * Bank x sends   y_x = v_x + PRG(b_x) + Σ_{z ∈ N(x)∩U2, z≠x} sign(x, z) · PRG(s_{x,z})
 * with sign(x, z) = +1 if x < z (bank-id order) else −1, so each pairwise mask appears
 * once with + and once with − and cancels in the sum of two survivors.
 *
 * The aggregator sums the y_x of the survivors U3, then removes
 *   − PRG(b_x) for each survivor x (seed reconstructed from shares), and
 *   − sign(x, d) · PRG(s_{x,d}) for each survivor x and each dropped neighbour d ∈ U2 \ U3
 *     (s_{x,d} derived from d's `s` private key, reconstructed from shares),
 * which leaves Σ_{x ∈ U3} v_x. For no bank may both b_x and the `s` key be
 * reconstructed: together they unmask its individual vector.
 */
import { compareBankIds, listBanks, SecAggError } from './errors.js';
import { applyMask } from './prg.js';

/** +1 if `self` adds the mask it shares with `peer`, −1 if it subtracts it. */
export function pairwiseSign(self: string, peer: string): 1 | -1 {
  return compareBankIds(self, peer) < 0 ? 1 : -1;
}

/**
 * Bank side: y = encoded + PRG(selfSeed) + Σ sign(self, peer) · PRG(seed) mod 2^32, as a
 * new vector (`encoded` is left unchanged). `pairwise` holds the 32-byte pairwise mask
 * seeds of every neighbour the bank holds shares from (never itself).
 */
export function maskVector(
  encoded: Uint32Array,
  self: string,
  selfSeed: Uint8Array,
  pairwise: ReadonlyArray<{ peer: string; seed: Uint8Array }>,
): Uint32Array {
  const y = new Uint32Array(encoded);
  applyMask(y, selfSeed, 1);
  for (const { peer, seed } of pairwise) {
    if (peer === self) throw new RangeError(`maskVector: ${self} cannot share a pairwise mask with itself`);
    applyMask(y, seed, pairwiseSign(self, peer));
  }
  return y;
}

/** Running sum mod 2^32 of masked vectors, one per bank: memory O(vector length). */
export class MaskedSum {
  readonly sum: Uint32Array;
  private readonly banks = new Set<string>();

  constructor(length: number) {
    this.sum = new Uint32Array(length);
  }

  /** Adds bank `bankId`'s masked vector. Refuses a second vector of the same bank or a wrong length. */
  add(bankId: string, masked: Uint32Array): void {
    if (this.banks.has(bankId)) {
      throw new SecAggError('out_of_order', `${bankId} already sent a masked vector in this round`, {
        stage: 'masked_fit',
        banks: [bankId],
      });
    }
    if (masked.length !== this.sum.length) {
      throw new SecAggError(
        'protocol_violation',
        `${bankId}'s masked vector has ${masked.length} values, expected ${this.sum.length}`,
        { stage: 'masked_fit', banks: [bankId] },
      );
    }
    this.banks.add(bankId);
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i] += masked[i]!;
  }

  contributors(): string[] {
    return [...this.banks].sort(compareBankIds);
  }
}

/** What the aggregator reconstructed from the unmask shares. */
export interface Unmasking {
  /** Self-mask seeds b_x of the survivors. */
  selfSeeds: ReadonlyMap<string, Uint8Array>;
  /** Pairwise mask seeds s_{x,d} between a survivor x and a dropped bank d. */
  droppedPairwise: ReadonlyArray<{ survivor: string; dropped: string; seed: Uint8Array }>;
}

/**
 * Aggregator side: removes the masks from `sum` (the masked sum of the survivors), in
 * place, and returns it: Σ_{x ∈ survivors} encoded_x mod 2^32. Refuses (SecAggError
 * 'protocol_violation') if a bank appears both with a self seed and as a dropped bank,
 * or if the self seeds are not exactly the survivors.
 */
export function unmaskSum(sum: Uint32Array, survivors: ReadonlyArray<string>, u: Unmasking): Uint32Array {
  const alive = new Set(survivors);
  const droppedSet = new Set(u.droppedPairwise.map((p) => p.dropped));
  const both = [...droppedSet].filter((d) => u.selfSeeds.has(d) || alive.has(d));
  if (both.length) {
    throw new SecAggError(
      'protocol_violation',
      `refusing to use both the self-mask seed and the pairwise key of ${listBanks(both)}: that would expose an individual update`,
      { stage: 'unmask', banks: both },
    );
  }
  const missing = survivors.filter((s) => !u.selfSeeds.has(s));
  const extra = [...u.selfSeeds.keys()].filter((s) => !alive.has(s));
  if (missing.length || extra.length) {
    throw new SecAggError(
      'protocol_violation',
      `self-mask seeds must be exactly the survivors' (missing: ${listBanks(missing)}; not survivors: ${listBanks(extra)})`,
      { stage: 'unmask', banks: [...missing, ...extra] },
    );
  }
  for (const s of survivors) applyMask(sum, u.selfSeeds.get(s)!, -1);
  for (const { survivor, dropped, seed } of u.droppedPairwise) {
    if (!alive.has(survivor)) {
      throw new SecAggError('protocol_violation', `${survivor} is not a survivor`, {
        stage: 'unmask',
        banks: [survivor],
      });
    }
    applyMask(sum, seed, pairwiseSign(survivor, dropped) === 1 ? -1 : 1);
  }
  return sum;
}
