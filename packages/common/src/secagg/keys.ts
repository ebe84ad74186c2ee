/**
 * X25519 key agreement (RFC 7748, node:crypto) with raw 32-byte keys, and HKDF-SHA-256
 * (RFC 5869) key derivation bound to the round, the purpose and the ordered bank pair.
 *
 * Each bank has two X25519 key pairs per round (Bonawitz et al. 2017): `c` to encrypt
 * the shares it sends its neighbours, `s` to derive pairwise mask seeds. Both derived
 * keys of a pair are symmetric (both banks compute the same), so the info names the
 * pair in bank-id order.
 */
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { canonicalBytes } from './encoding.js';
import { compareBankIds } from './errors.js';
import { cryptoRandomSource, randomBytes, type RandomSource } from './random.js';

export interface X25519KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** What a derived key is for: keys of different purposes are independent. */
export type KeyPurpose = 'share-encryption' | 'pairwise-mask';

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const HKDF_SALT = canonicalBytes('hkdf-salt', []);

/** A fresh X25519 key pair from 32 bytes of `random` (clamping is done by X25519 itself). */
export function generateX25519KeyPair(random: RandomSource = cryptoRandomSource): X25519KeyPair {
  const privateKey = randomBytes(random, 32);
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/** The raw public key of a raw X25519 private key. */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  const jwk = createPublicKey(x25519Private(privateKey)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

/**
 * The 32-byte key shared by banks `self` and `peer` for `purpose` in round `roundId`:
 * HKDF-SHA-256(X25519(privateKey, peerPublicKey), info = purpose, round id, the two
 * bank ids in ascending order). Throws a RangeError for a malformed or low-order peer
 * key (X25519 then yields all zeros, which OpenSSL refuses).
 */
export function deriveSharedKey(
  privateKey: Uint8Array,
  peerPublicKey: Uint8Array,
  ctx: { purpose: KeyPurpose; roundId: string; self: string; peer: string },
): Uint8Array {
  if (peerPublicKey.length !== 32)
    throw new RangeError(`X25519 public key must be 32 bytes, got ${peerPublicKey.length}`);
  let secret: Buffer;
  try {
    secret = diffieHellman({
      privateKey: x25519Private(privateKey),
      publicKey: createPublicKey({
        key: Buffer.concat([X25519_SPKI_PREFIX, peerPublicKey]),
        format: 'der',
        type: 'spki',
      }),
    });
  } catch (err) {
    throw new RangeError(`X25519 key agreement with ${ctx.peer}'s public key failed (low-order or malformed key)`, {
      cause: err,
    });
  }
  const [a, b] = compareBankIds(ctx.self, ctx.peer) < 0 ? [ctx.self, ctx.peer] : [ctx.peer, ctx.self];
  const info = canonicalBytes('hkdf-info', [ctx.purpose, ctx.roundId, a, b]);
  return new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, info, 32));
}

// Parsing a PKCS#8 key costs about a millisecond: cache the KeyObject per private-key array.
const x25519PrivateCache = new WeakMap<Uint8Array, KeyObject>();

function x25519Private(raw: Uint8Array): KeyObject {
  const hit = x25519PrivateCache.get(raw);
  if (hit) return hit;
  const key = x25519PrivateUncached(raw);
  x25519PrivateCache.set(raw, key);
  return key;
}

function x25519PrivateUncached(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`X25519 private key must be 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}
