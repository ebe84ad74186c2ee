/**
 * The console database's sensitive columns, sealed at the application layer when the bank
 * state is encrypted at rest (../state-crypto): SQLite stays a plain file, and each value
 * below is its own AES-256-GCM envelope (one data key per value), bound by its associated
 * data to its table and column.
 *
 * Sealed: alerts.{transaction_id, account_id, tx_time, amount, features, reasons, status},
 * decisions.{decision, note}, audit.details, and the TOTP secrets accounts.totp_secret and
 * sessions.pending_totp_secret (session-store.ts: a TOTP secret is the second factor itself,
 * not a hash of it, so it is sealed like the labels). In clear: row ids, times (created_at, at),
 * the alert's score (logit, probability: the queue is ordered and paged by it in SQL),
 * model version, upload id and line, feature names (the model's schema), analysts' names,
 * audit entry types and hashes, the settings (the operating threshold), the uploads'
 * file names and row counts, and the rest of the people tables (argon2id password hashes,
 * sha256 hashes of session ids, CSRF tokens, recovery codes and API tokens). In plaintext
 * mode every function here is the identity.
 */
import { type StateCipher } from '../state-crypto/index.js';

export type Column =
  | 'alerts.transaction_id'
  | 'alerts.account_id'
  | 'alerts.tx_time'
  | 'alerts.amount'
  | 'alerts.features'
  | 'alerts.reasons'
  | 'alerts.status'
  | 'decisions.decision'
  | 'decisions.note'
  | 'audit.details'
  | 'accounts.totp_secret'
  | 'sessions.pending_totp_secret';

/** A text value as stored: sealed bytes when encrypted, else the text (null stays null). */
export function sealText(cipher: StateCipher, v: string | null, col: Column): string | Buffer | null {
  if (v === null || !cipher.encrypted) return v;
  return cipher.seal(Buffer.from(v, 'utf8'), col);
}

/** Reads a text column written by sealText (a text value in an encrypted database is pre-migration plaintext). */
export function openText(cipher: StateCipher, v: unknown, col: Column): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return cipher.open(v, col).toString('utf8');
  return v as string;
}

/** A number column: sealed as its JSON text when encrypted. */
export function sealNumber(cipher: StateCipher, v: number | null, col: Column): number | Buffer | null {
  if (v === null || !cipher.encrypted) return v;
  return cipher.seal(Buffer.from(JSON.stringify(v)), col);
}

export function openNumber(cipher: StateCipher, v: unknown, col: Column): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  return Number(cipher.open(v as Buffer, col).toString('utf8'));
}

/** A blob column (raw float32 features): sealed bytes when encrypted. */
export function sealBlob(cipher: StateCipher, v: Buffer, col: Column): Buffer {
  return cipher.encrypted ? cipher.seal(v, col) : v;
}

export function openBlob(cipher: StateCipher, v: Buffer, col: Column): Buffer {
  return cipher.encrypted ? cipher.open(v, col) : v;
}

/** Float32 features from a (possibly sealed) blob column. */
export function openFeatures(cipher: StateCipher, v: Buffer): Float32Array {
  const b = openBlob(cipher, v, 'alerts.features');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * The alert's reasons: the literal 'null' (not explained yet, so the explain queue can
 * find them in SQL) stays in clear; an explanation is sealed.
 */
export function sealReasons(cipher: StateCipher, json: string): string | Buffer {
  return json === 'null' ? json : (sealText(cipher, json, 'alerts.reasons') as string | Buffer);
}
