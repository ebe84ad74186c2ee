/**
 * The one source of randomness of the secure-aggregation core. Production uses the
 * operating system's CSPRNG (node:crypto); tests and simulations inject a seeded source
 * (AES-256-CTR keystream, see prg.ts) so that key pairs, seeds, nonces and stochastic
 * rounding are reproducible. Nothing here ever uses Math.random.
 *
 * Exception, stated plainly: the audited Shamir package draws its polynomial
 * coefficients from WebCrypto itself (it takes no generator). Share values therefore
 * differ between runs, reconstructed secrets do not.
 */
import { createCipheriv, randomFillSync } from 'node:crypto';

export interface RandomSource {
  /** Fills `out` with uniformly random bytes and returns it. */
  fill(out: Uint8Array): Uint8Array;
}

/** The operating system's CSPRNG (node:crypto randomFillSync). */
export const cryptoRandomSource: RandomSource = {
  fill(out) {
    return randomFillSync(out);
  },
};

/**
 * A deterministic source: the AES-256-CTR keystream of a 32-byte seed (zero IV). For
 * tests and reproducible simulations only: anyone who knows the seed knows every key.
 */
export function seededRandomSource(seed: Uint8Array): RandomSource {
  if (seed.length !== 32) throw new RangeError(`seededRandomSource: seed must be 32 bytes, got ${seed.length}`);
  const cipher = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  return {
    fill(out) {
      out.set(cipher.update(new Uint8Array(out.length)));
      return out;
    },
  };
}

/** `n` random bytes from `random`. */
export function randomBytes(random: RandomSource, n: number): Uint8Array {
  return random.fill(new Uint8Array(n));
}
