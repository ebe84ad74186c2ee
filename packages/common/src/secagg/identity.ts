/**
 * Bank identity keys (Ed25519, RFC 8032, via node:crypto) and the statements they sign.
 *
 * Each bank makes one identity key pair at first start and registers the public key;
 * in every round it signs its key advertisement, the survivor list it was shown and its
 * masked update. Signatures cover a canonical encoding that binds the round id, so a
 * signature from one round is worthless in another (Bonawitz et al. 2017, §4 "active
 * adversary": signed keys and the consistency check).
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalBytes, sha256, uint32LeBytes } from './encoding.js';
import { cryptoRandomSource, randomBytes, type RandomSource } from './random.js';

/** Raw 32-byte Ed25519 keys (the private key is the RFC 8032 seed). */
export interface IdentityKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

// DER prefixes of PKCS#8 / SPKI for Ed25519 (RFC 8410): the raw key follows them.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A fresh Ed25519 key pair from 32 bytes of `random` (default: the OS CSPRNG). */
export function generateIdentityKeyPair(random: RandomSource = cryptoRandomSource): IdentityKeyPair {
  const privateKey = randomBytes(random, 32);
  return { privateKey, publicKey: identityPublicKey(privateKey) };
}

/** The public key of a raw Ed25519 private key. */
export function identityPublicKey(privateKey: Uint8Array): Uint8Array {
  const jwk = createPublicKey(ed25519Private(privateKey)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

/** Ed25519 signature (64 bytes) of `message`. */
export function signStatement(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, ed25519Private(privateKey)));
}

/** True iff `signature` is a valid Ed25519 signature of `message` under `publicKey`. Never throws. */
export function verifyStatement(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, ed25519Public(publicKey), signature);
  } catch {
    return false;
  }
}

/** What a bank advertises in stage 1: two X25519 public keys, raw 32 bytes each. */
export interface KeyAdvertisement {
  bankId: string;
  /** For share encryption (c in Bonawitz et al.). */
  cPublicKey: Uint8Array;
  /** For pairwise masks (s in Bonawitz et al.). */
  sPublicKey: Uint8Array;
  /** Ed25519 over keyAdvertisementBytes(roundId, bankId, cPublicKey, sPublicKey). */
  signature: Uint8Array;
}

/** The signed bytes of a key advertisement: round id, bank id, both raw public keys. */
export function keyAdvertisementBytes(
  roundId: string,
  bankId: string,
  cPublicKey: Uint8Array,
  sPublicKey: Uint8Array,
): Uint8Array {
  return canonicalBytes('key-advertisement', [roundId, bankId, cPublicKey, sPublicKey]);
}

/**
 * The signed bytes of a survivor list (consistency check): round id and the sorted list, and the
 * distributed-DP quorum q the round's updates were noised for, if any. With q in what every bank
 * signs, an aggregator that told banks different quorums (so that some added less noise than the
 * others counted on) is caught when a bank checks its neighbours' signatures before it unmasks.
 */
export function survivorListBytes(roundId: string, survivors: ReadonlyArray<string>, dpQuorum?: number): Uint8Array {
  return dpQuorum === undefined
    ? canonicalBytes('survivor-list', [roundId, survivors])
    : canonicalBytes('survivor-list-dp', [roundId, survivors, dpQuorum]);
}

/** The signed bytes of a masked update: round id, bank id and SHA-256 of the LE words. */
export function maskedUpdateBytes(roundId: string, bankId: string, masked: Uint32Array): Uint8Array {
  return canonicalBytes('masked-update', [roundId, bankId, masked.length >>> 0, sha256(uint32LeBytes(masked))]);
}

// Parsing a PKCS#8 key costs about a millisecond: cache the KeyObject per private-key array.
const ed25519PrivateCache = new WeakMap<Uint8Array, KeyObject>();

function ed25519Private(raw: Uint8Array): KeyObject {
  const hit = ed25519PrivateCache.get(raw);
  if (hit) return hit;
  const key = ed25519PrivateUncached(raw);
  ed25519PrivateCache.set(raw, key);
  return key;
}

function ed25519PrivateUncached(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`Ed25519 private key must be 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function ed25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}
