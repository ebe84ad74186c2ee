/**
 * What the two sides of a SecAgg+ round hand each other, as objects of raw bytes: a bank's
 * answer to each stage (bank.ts makes them) and what the aggregator forwards to the next
 * (aggregator.ts collects and checks them). wire.ts turns them into the JSON messages of
 * protocol/secagg-messages.ts.
 *
 * The share digests and the seed commitment are here, not in bank.ts, because both sides
 * compute them: the dealer when it commits, the holder when it opens an envelope, the
 * aggregator when a share is revealed and reconstruct.ts when a seed is rebuilt. They must
 * be one function, or the two sides could disagree about what was committed to.
 */
import { canonicalBytes, sha256 } from './encoding.js';

export interface ShareKeysResponse {
  /** SHA-256 commitment to the self-mask seed: lets the aggregator detect a corrupt seed share. */
  seedCommitment: Uint8Array;
  /**
   * One envelope per other bank of the key list, with the digests of the two shares inside
   * (`shareDigest`): the recipient checks them when it opens the envelope, the aggregator when the
   * recipient reveals a share, so a replayed or altered share is refused and its sender named.
   */
  shares: Array<{ to: string; ciphertext: Uint8Array } & ShareDigests>;
}

export interface ShareDigests {
  seedShareHash: Uint8Array;
  keyShareHash: Uint8Array;
}

export interface IncomingShare extends ShareDigests {
  from: string;
  ciphertext: Uint8Array;
}

/**
 * SHA-256 of one Shamir share bound to its round, kind, dealer and holder. Shares are 33 bytes
 * with a 256-bit uniformly random part, so the digest reveals nothing a guess could confirm.
 */
export function shareDigest(
  roundId: string,
  kind: 'seed' | 'key',
  dealer: string,
  holder: string,
  share: Uint8Array,
): Uint8Array {
  return sha256(canonicalBytes('secagg-share', [roundId, kind, dealer, holder, share]));
}

export interface MaskedUpdate {
  masked: Uint32Array;
  /** Ed25519 over (round id, bank id, SHA-256 of the masked words): a replay in another round fails. */
  signature: Uint8Array;
}

export interface SurvivorSignature {
  bankId: string;
  signature: Uint8Array;
}

export interface UnmaskResponse {
  /** Shares of the self-mask seeds of survivors. */
  seedShares: Array<{ of: string; share: Uint8Array }>;
  /** Shares of the `s` private keys of banks that dropped after sharing keys. */
  keyShares: Array<{ of: string; share: Uint8Array }>;
}

/** Commitment to a self-mask seed, bound to round and bank. */
export function seedCommitment(roundId: string, bankId: string, seed: Uint8Array): Uint8Array {
  return sha256(canonicalBytes('seed-commitment', [roundId, bankId, seed]));
}
