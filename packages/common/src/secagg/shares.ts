/**
 * Shamir secret sharing of 32-byte secrets (self-mask seeds and `s` private keys) with
 * the audited `shamir-secret-sharing` package (GF(256), one polynomial per byte), and
 * the AES-256-GCM envelope in which a bank sends its neighbour the two shares meant
 * for it (Bonawitz et al. 2017, round "ShareKeys").
 *
 * A share is 33 bytes: the 32 evaluated bytes plus the x coordinate (the package's
 * layout). Any t shares give the secret; fewer give a wrong value *silently*, which is
 * why the callers count shares and check reconstructed secrets against a commitment or
 * a public key.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { canonicalBytes } from './encoding.js';
import { SecAggError, type SecAggStage } from './errors.js';
import { cryptoRandomSource, randomBytes, type RandomSource } from './random.js';

export const SECRET_BYTES = 32;
export const SHARE_BYTES = SECRET_BYTES + 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** nonce ‖ AES-GCM(seed share ‖ key share) ‖ tag. */
export const SHARE_CIPHERTEXT_BYTES = NONCE_BYTES + 2 * SHARE_BYTES + TAG_BYTES;

/**
 * Splits a 32-byte secret into one share per holder (holders in the given order),
 * any `threshold` of which reconstruct it. 2 ≤ threshold ≤ holders ≤ 255.
 */
export async function splitSecret(
  secret: Uint8Array,
  holders: ReadonlyArray<string>,
  threshold: number,
): Promise<Map<string, Uint8Array>> {
  if (secret.length !== SECRET_BYTES)
    throw new RangeError(`secret must be ${SECRET_BYTES} bytes, got ${secret.length}`);
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > holders.length || holders.length > 255) {
    throw new RangeError(`Shamir: need 2 ≤ threshold (${threshold}) ≤ holders (${holders.length}) ≤ 255`);
  }
  if (new Set(holders).size !== holders.length) throw new RangeError('Shamir: holders must be distinct');
  const shares = await split(secret, holders.length, threshold);
  return new Map(holders.map((h, i) => [h, shares[i]!]));
}

/**
 * Reconstructs a secret from at least `threshold` shares (uses exactly the first
 * `threshold`). Throws if the threshold is not an integer from 2 to 255 (as at the split),
 * if there are too few shares, if a share has the wrong size or the x coordinate 0 (the
 * secret's own point, never a holder's: such a share is forged), or if two shares have the
 * same x coordinate. Fewer shares than the split's threshold still give a wrong value silently.
 */
export async function combineShares(shares: ReadonlyArray<Uint8Array>, threshold: number): Promise<Uint8Array> {
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > 255)
    throw new RangeError(`Shamir: the threshold must be an integer from 2 to 255, got ${threshold}`);
  if (shares.length < threshold) throw new RangeError(`Shamir: ${shares.length} shares, ${threshold} needed`);
  const used = shares.slice(0, threshold);
  const xs = new Set<number>();
  for (const s of used) {
    if (s.length !== SHARE_BYTES) throw new RangeError(`Shamir: a share must be ${SHARE_BYTES} bytes, got ${s.length}`);
    if (s[SECRET_BYTES] === 0) throw new RangeError('Shamir: a share has the x coordinate 0 (the secret itself)');
    xs.add(s[SECRET_BYTES]!);
  }
  if (xs.size !== used.length) throw new RangeError('Shamir: two shares have the same x coordinate');
  return combine(used);
}

/** Who sends the envelope to whom, in which round: the AES-GCM associated data. */
export interface ShareEnvelopeContext {
  roundId: string;
  from: string;
  to: string;
}

/** The two shares a bank hands one neighbour. */
export interface SharePair {
  /** Share of the sender's self-mask seed. */
  seedShare: Uint8Array;
  /** Share of the sender's `s` private key (pairwise masks). */
  keyShare: Uint8Array;
}

function shareAad(ctx: ShareEnvelopeContext): Uint8Array {
  return canonicalBytes('share-envelope', [ctx.roundId, ctx.from, ctx.to]);
}

/**
 * AES-256-GCM encryption (NIST SP 800-38D) of a share pair under the pairwise
 * share-encryption key, with a random 96-bit nonce and AD = round id, sender,
 * recipient. Returns nonce ‖ ciphertext ‖ tag (SHARE_CIPHERTEXT_BYTES).
 */
export function encryptSharePair(
  key: Uint8Array,
  ctx: ShareEnvelopeContext,
  pair: SharePair,
  random: RandomSource = cryptoRandomSource,
): Uint8Array {
  if (pair.seedShare.length !== SHARE_BYTES || pair.keyShare.length !== SHARE_BYTES) {
    throw new RangeError(`share pair: each share must be ${SHARE_BYTES} bytes`);
  }
  const nonce = randomBytes(random, NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(shareAad(ctx));
  const body = Buffer.concat([cipher.update(pair.seedShare), cipher.update(pair.keyShare), cipher.final()]);
  const out = new Uint8Array(SHARE_CIPHERTEXT_BYTES);
  out.set(nonce, 0);
  out.set(body, NONCE_BYTES);
  out.set(cipher.getAuthTag(), NONCE_BYTES + body.length);
  return out;
}

/**
 * Opens a share envelope. Any failure (wrong size, wrong key, another round, other
 * banks, a flipped bit) is one SecAggError('decryption_failed') naming both banks:
 * GCM does not say which, and the recipient must not guess.
 */
export function decryptSharePair(
  key: Uint8Array,
  ctx: ShareEnvelopeContext,
  ciphertext: Uint8Array,
  stage: SecAggStage = 'masked_fit',
): SharePair {
  const fail = (cause?: unknown): SecAggError =>
    new SecAggError(
      'decryption_failed',
      `the shares ${ctx.from} sent to ${ctx.to} do not decrypt in round ${ctx.roundId} (tampered, replayed from another round, or meant for other banks)`,
      { stage, banks: [ctx.from, ctx.to], cause },
    );
  if (ciphertext.length !== SHARE_CIPHERTEXT_BYTES) throw fail();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(0, NONCE_BYTES));
    decipher.setAAD(shareAad(ctx));
    decipher.setAuthTag(ciphertext.subarray(SHARE_CIPHERTEXT_BYTES - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(ciphertext.subarray(NONCE_BYTES, SHARE_CIPHERTEXT_BYTES - TAG_BYTES)),
      decipher.final(),
    ]);
    return {
      seedShare: new Uint8Array(plain.subarray(0, SHARE_BYTES)),
      keyShare: new Uint8Array(plain.subarray(SHARE_BYTES)),
    };
  } catch (err) {
    throw fail(err);
  }
}
