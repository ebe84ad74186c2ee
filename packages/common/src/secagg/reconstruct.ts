/**
 * The aggregator's last step (Bonawitz et al. 2017, round "Unmasking"): rebuild each
 * survivor's self-mask seed and each dropped bank's `s` private key from t shares, check
 * every rebuilt secret (seed against the commitment the bank sent with its shares, key
 * against the public key it advertised), and derive the pairwise seeds that must be
 * removed from the sum. A corrupt or missing share is a SecAggError naming the bank.
 *
 * Which shares: every share a holder reveals of another bank's secret has been checked
 * against the digest that bank dealt it with (aggregator.ts), so a holder cannot spoil a
 * reconstruction. A bank's own share of its own secret was never in an envelope and no
 * digest covers it: it is used only when fewer than t checked shares arrived, as the t-th,
 * and then the commitment (or public key) check alone vouches for it. So a bank that
 * reveals a corrupt share of itself loses nothing when t checked shares are there (Bonawitz
 * et al. 2017 and Flower's SecAgg+ reconstruct from any t honest shares), and is named when
 * its share was needed. Work: one Shamir combination per secret, as before.
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
  /**
   * Seed shares by owner (survivors only) and key shares by owner (dropped only), each checked
   * against the digest its owner dealt it with.
   */
  seedShares: ReadonlyMap<string, Uint8Array[]>;
  keyShares: ReadonlyMap<string, Uint8Array[]>;
  /**
   * The share a bank revealed of its own seed (or key): no digest covers it, so it is used
   * only when the checked shares of that bank fall short of t.
   */
  ownSeedShares?: ReadonlyMap<string, Uint8Array>;
  ownKeyShares?: ReadonlyMap<string, Uint8Array>;
}

/** Self seeds of the survivors and pairwise seeds (survivor, dropped) to remove from the masked sum. */
export async function recoverUnmasking(x: RecoveryInput): Promise<Unmasking> {
  const survivors = new Set(x.survivors);
  const selfSeeds = new Map<string, Uint8Array>();
  for (const s of x.survivors) {
    const { secret: seed, usedOwn } = await rebuild(x.seedShares, x.ownSeedShares, s, x.threshold);
    if (!bytesEqual(seedCommitment(x.roundId, s, seed), x.commitments.get(s)!)) {
      throw corrupt(`the reconstructed self-mask seed of ${s} does not match its commitment${ownNote(usedOwn, s)}`, s);
    }
    selfSeeds.set(s, seed);
  }
  const droppedPairwise: Array<Unmasking['droppedPairwise'][number]> = [];
  for (const d of x.dropped) {
    const { secret: sk, usedOwn } = await rebuild(x.keyShares, x.ownKeyShares, d, x.threshold);
    if (!bytesEqual(x25519PublicKey(sk), x.adverts.get(d)!.sPublicKey)) {
      throw corrupt(`the reconstructed key of ${d} does not match its advertised public key${ownNote(usedOwn, d)}`, d);
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

/**
 * Rebuilds `owner`'s secret from t shares: checked shares only when there are t of them,
 * else the checked ones and the owner's own share. Fewer than t in all: threshold_not_met.
 */
async function rebuild(
  checked: ReadonlyMap<string, Uint8Array[]>,
  own: ReadonlyMap<string, Uint8Array> | undefined,
  owner: string,
  t: number,
): Promise<{ secret: Uint8Array; usedOwn: boolean }> {
  const verified = checked.get(owner) ?? [];
  const ownShare = own?.get(owner);
  const usedOwn = verified.length < t && ownShare !== undefined;
  const shares = usedOwn ? [...verified, ownShare] : verified;
  if (shares.length < t) {
    throw new SecAggError('threshold_not_met', `only ${shares.length} shares of ${owner} arrived, t = ${t}`, {
      stage: 'unmask',
      banks: [owner],
    });
  }
  try {
    return { secret: await combineShares(shares, t), usedOwn };
  } catch (err) {
    throw corrupt(
      `the shares of ${owner} do not combine: ${(err as Error).message}${ownNote(usedOwn, owner)}`,
      owner,
      err,
    );
  }
}

/** Says that the owner's own (unverifiable) share was one of the t: the suspect is then the owner's share. */
function ownNote(usedOwn: boolean, owner: string): string {
  return usedOwn
    ? ` (only t − 1 checked shares arrived; the t-th was ${owner}'s own share, which no digest covers)`
    : '';
}

function corrupt(message: string, bank: string, cause?: unknown): SecAggError {
  return new SecAggError('corrupt_share', message, { stage: 'unmask', banks: [bank], cause });
}
