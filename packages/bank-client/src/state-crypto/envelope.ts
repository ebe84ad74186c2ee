/**
 * Envelope encryption of the bank's state at rest (AES-256-GCM, node:crypto only).
 *
 * Every sealed value gets its own random 256-bit data key (DEK); the DEK is encrypted
 * ("wrapped") under the master key with AES-256-GCM, and the value under the DEK. The
 * master key's id is stored in clear so that a key can be rotated: a keyring holding the
 * old and the new key opens both, and values are re-sealed under the new one. This is the
 * envelope scheme of NIST SP 800-38D (GCM) used as in AWS KMS / Google Tink "envelope
 * encryption"; the associated data binds a value to its purpose (file name, table.column),
 * so a ciphertext moved elsewhere fails authentication.
 *
 * Layout (bytes): "FSE1" | keyId (8) | wrapIv (12) | wrappedDek (32) | wrapTag (16) |
 *                 iv (12) | tag (16) | ciphertext (n)        — 100 bytes of overhead.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const MAGIC = Buffer.from('FSE1', 'latin1');
const KEY_ID_BYTES = 8;
const IV = 12;
const TAG = 16;
const DEK = 32;
const HEADER = MAGIC.length + KEY_ID_BYTES + IV + DEK + TAG;
export const SEAL_OVERHEAD = HEADER + IV + TAG;

/** Thrown when a sealed value cannot be opened (wrong key, damaged or moved ciphertext). */
export class StateCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateCryptoError';
  }
}

/** The master key's public id: the first 8 bytes of SHA-256("finsecure-state-key-id\0" ‖ key), hex. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256')
    .update('finsecure-state-key-id\0')
    .update(key)
    .digest()
    .subarray(0, KEY_ID_BYTES)
    .toString('hex');
}

/** True when `blob` starts with the sealed-value magic ("FSE1"). */
export function isSealed(blob: Uint8Array): boolean {
  return blob.length >= SEAL_OVERHEAD && Buffer.from(blob.buffer, blob.byteOffset, 4).equals(MAGIC);
}

/**
 * What the state stores call to protect a value. `encrypted` false (PLAINTEXT_STATE) is what
 * a directory not opened with a key in this process gets: the bank's commands no longer run
 * that way (the key is required, state.ts), but `score` reads a plaintext model from
 * elsewhere with it, and it reads a state an older version left in plaintext before the
 * migration. seal/open are then the identity, so the stores keep one code path.
 */
export interface StateCipher {
  readonly encrypted: boolean;
  /** Id of the key new values are sealed under (null in plaintext mode). */
  readonly keyId: string | null;
  /** Seals `plain` for `context` (e.g. "privacy.json", "alerts.transaction_id"). */
  seal(plain: Uint8Array, context: string): Buffer;
  /** Opens a value sealed for `context`; throws StateCryptoError naming the context on failure. */
  open(blob: Uint8Array, context: string): Buffer;
}

export const PLAINTEXT_STATE: StateCipher = {
  encrypted: false,
  keyId: null,
  seal: (plain) => Buffer.from(plain),
  open: (blob, context) => {
    if (isSealed(blob))
      throw new StateCryptoError(
        `${context} is encrypted but no state key is configured (--state-key-file / FINSECURE_STATE_KEY_FILE / FINSECURE_STATE_KEY)`,
      );
    return Buffer.from(blob);
  },
};

/**
 * AES-256-GCM envelope cipher. `current` seals; every key of `keyring` (current included)
 * opens, which is how a rotation reads values sealed under the previous key.
 * @throws Error when a key is not 32 bytes
 */
export function createEnvelopeCipher(current: Buffer, previous: Buffer[] = []): StateCipher {
  const ring = new Map<string, Buffer>();
  for (const k of [current, ...previous]) {
    if (k.length !== 32) throw new Error(`a state key must be 32 bytes (AES-256), got ${k.length}`);
    ring.set(keyIdOf(k), k);
  }
  const keyId = keyIdOf(current);
  const keyIdBytes = Buffer.from(keyId, 'hex');
  return {
    encrypted: true,
    keyId,
    seal(plain, context) {
      const dek = randomBytes(DEK);
      const wrapIv = randomBytes(IV);
      const head = Buffer.concat([MAGIC, keyIdBytes]);
      const w = createCipheriv('aes-256-gcm', current, wrapIv);
      w.setAAD(head);
      const wrapped = Buffer.concat([w.update(dek), w.final()]);
      const header = Buffer.concat([head, wrapIv, wrapped, w.getAuthTag()]);
      const iv = randomBytes(IV);
      const c = createCipheriv('aes-256-gcm', dek, iv);
      c.setAAD(Buffer.concat([header, Buffer.from(context, 'utf8')]));
      const ct = Buffer.concat([c.update(plain), c.final()]);
      dek.fill(0);
      return Buffer.concat([header, iv, c.getAuthTag(), ct]);
    },
    open(blob, context) {
      const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
      if (!isSealed(b)) throw new StateCryptoError(`${context} is not encrypted (expected a sealed value)`);
      const id = b.subarray(4, 4 + KEY_ID_BYTES).toString('hex');
      const key = ring.get(id);
      if (!key)
        throw new StateCryptoError(`${context} is encrypted under state key ${id}, the configured key is ${keyId}`);
      let o = 4 + KEY_ID_BYTES;
      const wrapIv = b.subarray(o, (o += IV));
      const wrapped = b.subarray(o, (o += DEK));
      const wrapTag = b.subarray(o, (o += TAG));
      const iv = b.subarray(o, (o += IV));
      const tag = b.subarray(o, (o += TAG));
      try {
        const w = createDecipheriv('aes-256-gcm', key, wrapIv);
        w.setAAD(b.subarray(0, 4 + KEY_ID_BYTES));
        w.setAuthTag(wrapTag);
        const dek = Buffer.concat([w.update(wrapped), w.final()]);
        const d = createDecipheriv('aes-256-gcm', dek, iv);
        d.setAAD(Buffer.concat([b.subarray(0, HEADER), Buffer.from(context, 'utf8')]));
        d.setAuthTag(tag);
        const out = Buffer.concat([d.update(b.subarray(o)), d.final()]);
        dek.fill(0);
        return out;
      } catch {
        throw new StateCryptoError(`${context}: authentication failed (damaged, or sealed for another place)`);
      }
    },
  };
}
