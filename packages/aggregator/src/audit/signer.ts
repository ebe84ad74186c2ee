/**
 * The aggregator's audit signing key and the signed statements made with it.
 *
 * A hash chain alone cannot show that its tail was cut off or rewritten from some entry
 * on (every later hash can be recomputed). A signature over the head (seq, hash) made
 * with a key kept outside the database pins it: whoever edits the database without the
 * key cannot produce a head or checkpoint that verifies. Ed25519 (RFC 8032) from
 * node:crypto; the private key is a PKCS#8 PEM file with mode 0600, created on first use.
 *
 * Signed messages, UTF-8, each with a fixed prefix so that no signature of the key can be
 * replayed as another kind of statement (domain separation):
 * - a head: `finsecure-audit-head/v1\n<seq>\n<hash>\n<at>` ("the log ends here");
 * - a checkpoint: `finsecure-audit-checkpoint/v1\n<seq>\n<hash>\n<at>` ("the log passed here").
 * Checkpoints were once signed as heads; each one then stated that the log ended at an earlier
 * entry, so anyone able to write the database could cut the tail back to a checkpoint and copy
 * its signature into the head. Such legacy checkpoints still verify (`checkCheckpointSignature`
 * says which), and the aggregator re-signs them as checkpoints at its next start.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Default file name of the key, in the aggregator's data directory. */
export const AUDIT_KEY_FILE = 'audit-key.pem';

/** A head of the chain (seq, hash) at time `at`, signed; stored as the head and as checkpoints. */
export interface SignedHead {
  seq: number;
  hash: string;
  at: number;
  /** First 16 hex digits of sha256 over the public key (SPKI DER); null when unsigned. */
  keyId: string | null;
  /** base64 Ed25519 signature; null when the store has no key (':memory:' tests). */
  signature: string | null;
}

export interface AuditSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** Signs (seq, hash, at) as the head: the log ends at entry seq. */
  sign(head: { seq: number; hash: string; at: number }): SignedHead;
  /** Signs (seq, hash, at) as a checkpoint: the log passed entry seq (never valid as a head). */
  signCheckpoint(checkpoint: { seq: number; hash: string; at: number }): SignedHead;
}

/** A key that only verifies (an auditor's copy of the public key, or the signer's own). */
export interface AuditVerifierKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

type Statement = 'head' | 'checkpoint';

function message(kind: Statement, h: { seq: number; hash: string; at: number }): Buffer {
  return Buffer.from(`finsecure-audit-${kind}/v1\n${h.seq}\n${h.hash}\n${h.at}`, 'utf8');
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function signerFrom(privateKey: KeyObject): AuditSigner {
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  const signed = (kind: Statement, h: { seq: number; hash: string; at: number }): SignedHead => ({
    seq: h.seq,
    hash: h.hash,
    at: h.at,
    keyId,
    signature: sign(null, message(kind, h), privateKey).toString('base64'),
  });
  return {
    keyId,
    publicKey,
    sign: (h) => signed('head', h),
    signCheckpoint: (h) => signed('checkpoint', h),
  };
}

function verifies(kind: Statement, h: SignedHead, key: AuditVerifierKey): boolean {
  try {
    return verify(null, message(kind, h), key.publicKey, Buffer.from(h.signature ?? '', 'base64'));
  } catch {
    return false;
  }
}

/**
 * Why a signed head does not verify as a head, or null when it does.
 * @param key the aggregator's public key (from its key file).
 */
export function checkHeadSignature(head: SignedHead, key: AuditVerifierKey): string | null {
  if (!head.signature || !head.keyId) return 'is not signed';
  if (head.keyId !== key.keyId) return `is signed by key ${head.keyId}, not by the configured key ${key.keyId}`;
  return verifies('head', head, key) ? null : 'has a signature that does not verify (the head was altered)';
}

/**
 * Whether a stored checkpoint verifies: `{ legacy: false }` signed as a checkpoint, `{ legacy: true }`
 * signed as a head by an earlier version (accepted; the aggregator re-signs it at its next start), or
 * why not.
 */
export function checkCheckpointSignature(
  cp: SignedHead,
  key: AuditVerifierKey,
): { legacy: boolean } | { problem: string } {
  if (!cp.signature || !cp.keyId) return { problem: 'is not signed' };
  if (cp.keyId !== key.keyId)
    return { problem: `is signed by key ${cp.keyId}, not by the configured key ${key.keyId}` };
  if (verifies('checkpoint', cp, key)) return { legacy: false };
  if (verifies('head', cp, key)) return { legacy: true };
  return { problem: 'has a signature that does not verify (the checkpoint was altered)' };
}

/**
 * Loads the Ed25519 private key from `file`, creating it (mode 0600, parent directories
 * too) and its public half `*.pub.pem` when neither exists and `create` is true (the stores
 * pass create only for an empty audit log). A key file readable by group or
 * others is refused: whoever can read it can forge checkpoints.
 * @throws Error naming the file when it is missing (create false), unreadable, too open, or not an Ed25519 key.
 */
export function loadAuditKey(file: string, opts: { create?: boolean } = {}): AuditSigner {
  if (!existsSync(file)) {
    if (!opts.create) throw new Error(`audit signing key ${file} does not exist`);
    const pub = publicKeyFileOf(file);
    // The public half of a lost key: auditors and banks hold copies of it; a new key must not replace it.
    if (existsSync(pub))
      throw new Error(
        `audit signing key ${file} is missing but its public key ${pub} exists: restore ${file} from your backup. ` +
          `A new key is made only where neither exists (delete ${pub} only when starting a new federation).`,
      );
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    // 'wx': never overwrite a key (or its public half) another process created in the meantime.
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    writeFileSync(pub, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }), {
      mode: 0o644,
      flag: 'wx',
    });
  }
  const mode = statSync(file).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new Error(`audit signing key ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (err) {
    throw new Error(`audit signing key ${file} cannot be read: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`audit signing key ${file} is a ${key.asymmetricKeyType} key, not Ed25519`);
  }
  return signerFrom(key);
}

/** A verifying key from a PEM file holding either the private key or the public key. */
export function loadAuditVerifierKey(file: string): AuditVerifierKey {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    throw new Error(`audit key ${file} cannot be read: ${(err as Error).message}`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = text.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(text)) : createPublicKey(text);
  } catch (err) {
    throw new Error(`audit key ${file} is not a PEM key: ${(err as Error).message}`);
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`audit key ${file} is not an Ed25519 key`);
  return { keyId: keyIdOf(publicKey), publicKey };
}

/** `audit-key.pem` → `audit-key.pub.pem`: the public half, for auditors and banks. */
export function publicKeyFileOf(file: string): string {
  return file.endsWith('.pem') ? `${file.slice(0, -4)}.pub.pem` : `${file}.pub`;
}
