/**
 * A bank's share envelopes: sealing the share pair it deals one neighbour at share keys
 * (stage 2), and opening the pair a neighbour dealt it at masked fit (stage 3). bank.ts
 * decides who gets an envelope and from whom one is accepted; this is how one is made and
 * opened. Each envelope is AES-GCM under the pairwise `c` key (shares.ts), and travels
 * with the digests of the two shares inside (messages.ts shareDigest).
 */
import { bytesEqual } from './encoding.js';
import { SecAggError, type SecAggStage } from './errors.js';
import { deriveSharedKey } from './keys.js';
import { shareDigest, type IncomingShare, type ShareKeysResponse } from './messages.js';
import type { RandomSource } from './random.js';
import { decryptSharePair, encryptSharePair, type SharePair } from './shares.js';

/** The two ends of one envelope, as this bank (`self`) sees them: its `c` private key and `peer`'s advertised `c` public key. */
export interface EnvelopeEnds {
  roundId: string;
  self: string;
  cPrivateKey: Uint8Array;
  peer: string;
  peerCPublicKey: Uint8Array;
}

/** The pairwise share-encryption key; both ends derive the same one. */
function envelopeKey(ends: EnvelopeEnds): Uint8Array {
  return deriveSharedKey(ends.cPrivateKey, ends.peerCPublicKey, {
    purpose: 'share-encryption',
    roundId: ends.roundId,
    self: ends.self,
    peer: ends.peer,
  });
}

/** Stage 2: `self`'s share pair for `peer`, encrypted, with the digests of both shares. */
export function sealSharePair(
  ends: EnvelopeEnds,
  pair: SharePair,
  random: RandomSource,
): ShareKeysResponse['shares'][number] {
  const { roundId, self, peer } = ends;
  const key = envelopeKey(ends);
  return {
    to: peer,
    ciphertext: encryptSharePair(key, { roundId, from: self, to: peer }, pair, random),
    seedShareHash: shareDigest(roundId, 'seed', self, peer, pair.seedShare),
    keyShareHash: shareDigest(roundId, 'key', self, peer, pair.keyShare),
  };
}

/**
 * Stage 3: opens the envelope `peer` dealt `self`, and checks the shares inside against
 * the digests `peer` sent with it.
 */
export function openSharePair(ends: EnvelopeEnds, share: IncomingShare, stage: SecAggStage): SharePair {
  const { roundId, self, peer } = ends;
  const key = envelopeKey(ends);
  const pair = decryptSharePair(key, { roundId, from: peer, to: self }, share.ciphertext, stage);
  // The digests the aggregator will check our revealed share against must be those of what we
  // hold: otherwise `peer` could have us blamed for a share it never dealt.
  if (
    !bytesEqual(shareDigest(roundId, 'seed', peer, self, pair.seedShare), share.seedShareHash) ||
    !bytesEqual(shareDigest(roundId, 'key', peer, self, pair.keyShare), share.keyShareHash)
  ) {
    throw new SecAggError(
      'corrupt_share',
      `${peer}'s shares for ${self} do not match the digests it committed to at share keys`,
      { stage, banks: [peer] },
    );
  }
  return pair;
}
