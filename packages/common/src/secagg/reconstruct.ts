/**
 * The aggregator's last step (Bonawitz et al. 2017, round "Unmasking"): rebuild each
 * survivor's self-mask seed and each dropped bank's `s` private key from t shares, check
 * every rebuilt secret (seed against the commitment the bank sent with its shares, key
 * against the public key it advertised), and derive the pairwise seeds that must be
 * removed from the sum. A corrupt or missing share is a SecAggError naming the bank.
 */
import { bytesEqual } from './encoding.js';
import { SecAggError } from './errors.js';
import type { KeyAdvertisement } from './identity.js';
import { deriveSharedKey, x25519PublicKey } from './keys.js';
import type { Unmasking } from './masking.js';
import type { Neighbourhoods } from './graph.js';
import { seedCommitment } from './bank.js';
import { combineShares } from './shares.js';

export interface RecoveryInput {
  roundId: string;
  threshold: number;
  graph: Neighbourhoods;
  /** U3, sorted. */
  survivors: ReadonlyArray<string>;
  /** U2 \ U3, sorted: banks that shared keys but sent no masked vector. */
  dropped: ReadonlyArray<string>;
  adverts: ReadonlyMap<string, KeyAdvertisement>;
  commitments: ReadonlyMap<string, Uint8Array>;
  /** Seed shares by owner (survivors only) and key shares by owner (dropped only). */
  seedShares: ReadonlyMap<string, Uint8Array[]>;
  keyShares: ReadonlyMap<string, Uint8Array[]>;
}

/** Self seeds of the survivors and pairwise seeds (survivor, dropped) to remove from the masked sum. */
export async function recoverUnmasking(x: RecoveryInput): Promise<Unmasking> {
  const survivors = new Set(x.survivors);
  const selfSeeds = new Map<string, Uint8Array>();
  for (const s of x.survivors) {
    const seed = await rebuild(x.seedShares, s, x.threshold);
    if (!bytesEqual(seedCommitment(x.roundId, s, seed), x.commitments.get(s)!)) {
      throw corrupt(`the reconstructed self-mask seed of ${s} does not match its commitment`, s);
    }
    selfSeeds.set(s, seed);
  }
  const droppedPairwise: Array<Unmasking['droppedPairwise'][number]> = [];
  for (const d of x.dropped) {
    const sk = await rebuild(x.keyShares, d, x.threshold);
    if (!bytesEqual(x25519PublicKey(sk), x.adverts.get(d)!.sPublicKey)) {
      throw corrupt(`the reconstructed key of ${d} does not match its advertised public key`, d);
    }
    // Exactly the survivors that masked with d: its neighbours that held its shares (all of U2 ∩ N(d)).
    for (const s of x.graph.get(d)!) {
      if (s === d || !survivors.has(s)) continue;
      const ctx = { purpose: 'pairwise-mask' as const, roundId: x.roundId, self: d, peer: s };
      droppedPairwise.push({ survivor: s, dropped: d, seed: deriveSharedKey(sk, x.adverts.get(s)!.sPublicKey, ctx) });
    }
    sk.fill(0);
  }
  return { selfSeeds, droppedPairwise };
}

async function rebuild(store: ReadonlyMap<string, Uint8Array[]>, owner: string, t: number): Promise<Uint8Array> {
  const shares = store.get(owner) ?? [];
  if (shares.length < t) {
    throw new SecAggError('threshold_not_met', `only ${shares.length} shares of ${owner} arrived, t = ${t}`, {
      stage: 'unmask',
      banks: [owner],
    });
  }
  try {
    return await combineShares(shares, t);
  } catch (err) {
    throw corrupt(`the shares of ${owner} do not combine: ${(err as Error).message}`, owner, err);
  }
}

function corrupt(message: string, bank: string, cause?: unknown): SecAggError {
  return new SecAggError('corrupt_share', message, { stage: 'unmask', banks: [bank], cause });
}
