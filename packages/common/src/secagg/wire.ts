/**
 * Conversions between the core's objects (raw bytes) and the wire messages of
 * protocol/secagg-messages.ts (canonical base64), so that the bank and aggregator
 * stages only move messages. The schemas have already checked lengths and alphabet;
 * fromBase64 re-checks canonical form.
 */
import type { SecAggAdvertiseKeysRequest, SecAggShares, SecAggUnmaskShares } from '../protocol/secagg-messages.js';
import { secaggRoundId } from '../protocol/secagg-messages.js';
import { fromBase64, toBase64 } from './encoding.js';
import type { KeyAdvertisement } from './identity.js';
import type { SecAggParams } from './params.js';
import type { IncomingShare, ShareKeysResponse, SurvivorSignature, UnmaskResponse } from './bank.js';

export interface KeyAdvertisementWire {
  bankId: string;
  cPublicKey: string;
  sPublicKey: string;
  signature: string;
}

export function advertisementToWire(a: KeyAdvertisement): KeyAdvertisementWire {
  return {
    bankId: a.bankId,
    cPublicKey: toBase64(a.cPublicKey),
    sPublicKey: toBase64(a.sPublicKey),
    signature: toBase64(a.signature),
  };
}

export function advertisementFromWire(w: KeyAdvertisementWire): KeyAdvertisement {
  return {
    bankId: w.bankId,
    cPublicKey: fromBase64(w.cPublicKey, `${w.bankId}.cPublicKey`),
    sPublicKey: fromBase64(w.sPublicKey, `${w.bankId}.sPublicKey`),
    signature: fromBase64(w.signature, `${w.bankId}.signature`),
  };
}

/** The stage-1 request for `params`; `params.roundId` must be secaggRoundId(round, session). */
export function paramsToWire(
  params: SecAggParams,
  round: number,
  session: string,
  deadlineInMs: number,
  identities: ReadonlyMap<string, Uint8Array>,
): SecAggAdvertiseKeysRequest {
  if (params.roundId !== secaggRoundId(round, session)) {
    throw new RangeError(`params.roundId ${params.roundId} is not ${secaggRoundId(round, session)}`);
  }
  const g = params.graph;
  return {
    type: 'secagg_advertise_keys',
    roundId: round,
    session,
    participants: [...params.participants],
    threshold: params.threshold,
    graph: g.kind === 'complete' ? { kind: 'complete' } : { kind: 'harary', degree: g.degree, seed: toBase64(g.seed) },
    vectorLength: params.vectorLength,
    fixedPoint: { ...params.fixedPoint },
    identities: [...params.participants].map((bankId) => {
      const key = identities.get(bankId);
      if (!key) throw new RangeError(`no identity key for participant ${bankId}`);
      return { bankId, publicKey: toBase64(key) };
    }),
    deadlineInMs,
  };
}

/** The identity keys an advertise-keys request carries, as a directory (bank id → raw key). */
export function identitiesFromWire(m: Pick<SecAggAdvertiseKeysRequest, 'identities'>): Map<string, Uint8Array> {
  return new Map(m.identities.map((i) => [i.bankId, fromBase64(i.publicKey, `identity key of ${i.bankId}`)]));
}

export function paramsFromWire(m: SecAggAdvertiseKeysRequest): SecAggParams {
  const g = m.graph;
  return {
    roundId: secaggRoundId(m.roundId, m.session),
    participants: m.participants,
    threshold: m.threshold,
    graph:
      g.kind === 'complete'
        ? { kind: 'complete' }
        : { kind: 'harary', degree: g.degree, seed: fromBase64(g.seed, 'graph.seed') },
    vectorLength: m.vectorLength,
    fixedPoint: m.fixedPoint,
  };
}

export function sharesToWire(r: ShareKeysResponse): Pick<SecAggShares, 'seedCommitment' | 'shares'> {
  return {
    seedCommitment: toBase64(r.seedCommitment),
    shares: r.shares.map((s) => ({
      to: s.to,
      ciphertext: toBase64(s.ciphertext),
      seedShareHash: toBase64(s.seedShareHash),
      keyShareHash: toBase64(s.keyShareHash),
    })),
  };
}

export function sharesFromWire(m: Pick<SecAggShares, 'seedCommitment' | 'shares'>): ShareKeysResponse {
  return {
    seedCommitment: fromBase64(m.seedCommitment, 'seedCommitment'),
    shares: m.shares.map((s) => ({
      to: s.to,
      ciphertext: fromBase64(s.ciphertext, `shares for ${s.to}`),
      seedShareHash: fromBase64(s.seedShareHash, `seed share digest for ${s.to}`),
      keyShareHash: fromBase64(s.keyShareHash, `key share digest for ${s.to}`),
    })),
  };
}

/** Envelopes (`from` or `to` keyed) and survivor signatures: bytes ↔ base64 in one field. */
export function bytesFieldToWire<K extends string, T extends Record<K, Uint8Array>>(
  items: ReadonlyArray<T>,
  field: K,
): Array<Omit<T, K> & Record<K, string>> {
  return items.map((i) => ({ ...i, [field]: toBase64(i[field]) }) as Omit<T, K> & Record<K, string>);
}

export function signaturesFromWire(items: ReadonlyArray<{ bankId: string; signature: string }>): SurvivorSignature[] {
  return items.map((s) => ({ bankId: s.bankId, signature: fromBase64(s.signature, `signature of ${s.bankId}`) }));
}

export function incomingFromWire(
  items: ReadonlyArray<{ from: string; ciphertext: string; seedShareHash: string; keyShareHash: string }>,
): IncomingShare[] {
  return items.map((s) => ({
    from: s.from,
    ciphertext: fromBase64(s.ciphertext, `shares from ${s.from}`),
    seedShareHash: fromBase64(s.seedShareHash, `seed share digest from ${s.from}`),
    keyShareHash: fromBase64(s.keyShareHash, `key share digest from ${s.from}`),
  }));
}

/** The envelopes addressed to one bank, for the masked-fit or masked-evaluate request. */
export function incomingToWire(items: ReadonlyArray<IncomingShare>) {
  return items.map((s) => ({
    from: s.from,
    ciphertext: toBase64(s.ciphertext),
    seedShareHash: toBase64(s.seedShareHash),
    keyShareHash: toBase64(s.keyShareHash),
  }));
}

export function unmaskToWire(r: UnmaskResponse): Pick<SecAggUnmaskShares, 'seedShares' | 'keyShares'> {
  return {
    seedShares: r.seedShares.map((s) => ({ of: s.of, share: toBase64(s.share) })),
    keyShares: r.keyShares.map((s) => ({ of: s.of, share: toBase64(s.share) })),
  };
}

export function unmaskFromWire(m: Pick<SecAggUnmaskShares, 'seedShares' | 'keyShares'>): UnmaskResponse {
  return {
    seedShares: m.seedShares.map((s) => ({ of: s.of, share: fromBase64(s.share, `seed share of ${s.of}`) })),
    keyShares: m.keyShares.map((s) => ({ of: s.of, share: fromBase64(s.share, `key share of ${s.of}`) })),
  };
}
