/**
 * Mask expansion: a 32-byte seed → a stream of uniform uint32 words, the AES-256-CTR
 * keystream (NIST SP 800-38A) of the seed with a zero IV, read as little-endian words.
 * This is the PRG of Bonawitz et al. 2017 instantiated with a standard cipher: the full
 * 256-bit seed is the key (unlike Flower's 32-bit seed into NumPy's Mersenne Twister).
 * A zero IV is safe because every seed is used for exactly one stream: self-mask seeds
 * are fresh per round, pairwise seeds are HKDF outputs bound to round and pair.
 *
 * Masks are applied in fixed-size chunks so that the extra memory is O(chunk), not
 * O(model), whatever the vector length.
 */
import { createCipheriv } from 'node:crypto';
import { HOST_LE } from './encoding.js';

/** Words per keystream chunk (256 KiB): large enough to amortise the cipher call. */
const CHUNK_WORDS = 1 << 16;
const ZEROS = new Uint8Array(CHUNK_WORDS * 4);
const IV = Buffer.alloc(16);

/** The first `length` words of the mask of `seed`, as a new Uint32Array. */
export function expandMask(seed: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  applyMask(out, seed, 1);
  return out;
}

/**
 * acc ← acc + sign · mask(seed) mod 2^32, in place. `sign` +1 adds the mask, −1 removes
 * it. Throws a RangeError for a seed that is not 32 bytes.
 */
export function applyMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  if (seed.length !== 32) throw new RangeError(`mask seed must be 32 bytes, got ${seed.length}`);
  const cipher = createCipheriv('aes-256-ctr', seed, IV);
  for (let start = 0; start < acc.length; start += CHUNK_WORDS) {
    const n = Math.min(CHUNK_WORDS, acc.length - start);
    const words = keystreamWords(cipher.update(ZEROS.subarray(0, n * 4)));
    const dst = acc.subarray(start, start + n);
    // Uint32Array stores ToUint32(x): the double sum/difference is exact (|x| < 2^33)
    // and the store reduces it mod 2^32.
    if (sign === 1) for (let i = 0; i < n; i++) dst[i] += words[i]!;
    else for (let i = 0; i < n; i++) dst[i] -= words[i]!;
  }
}

function keystreamWords(bytes: Buffer): Uint32Array {
  const n = bytes.length >>> 2;
  if (HOST_LE && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}
