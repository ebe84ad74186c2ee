/**
 * The bank's identity for secure aggregation, kept in its state directory:
 * - `identity.key`: its Ed25519 private key (raw 32 bytes, base64; mode 0600), made at first
 *   start. The public key goes to the aggregator in every hello.
 * - `secagg-identities.json`: the other banks' public keys as first seen (trust on first use).
 *   A round in which the aggregator forwards a different key for a known bank is refused:
 *   a swapped key would let the aggregator decrypt that bank's shares. Sealed when the bank
 *   state is encrypted at rest (state-crypto).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cipherFor, readStateFile, writeStateFile, type StateCipher } from '../state-crypto/index.js';
import path from 'node:path';
import {
  fromBase64,
  generateIdentityKeyPair,
  identityPublicKey,
  SecAggError,
  toBase64,
  type IdentityKeyPair,
} from '@finsecure/common/secagg';

export const IDENTITY_FILE = 'identity.key';
export const PINNED_FILE = 'secagg-identities.json';

/** Loads the bank's identity key pair, making (and saving, 0600) one at first start. Throws naming the file if it is damaged. */
export function loadOrCreateIdentity(stateDir: string): IdentityKeyPair {
  const file = path.join(stateDir, IDENTITY_FILE);
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    let privateKey: Uint8Array;
    try {
      privateKey = fromBase64(text, 'identity key');
    } catch (err) {
      throw new Error(
        `${file}: not a base64 Ed25519 private key (${(err as Error).message}); restore it from a backup`,
      );
    }
    if (privateKey.length !== 32) throw new Error(`${file}: expected 32 bytes, found ${privateKey.length}`);
    return { privateKey, publicKey: identityPublicKey(privateKey) };
  }
  const pair = generateIdentityKeyPair();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${toBase64(pair.privateKey)}\n`, { mode: 0o600, flag: 'wx' });
  return pair;
}

/** The other banks' identity keys, pinned on first sight. */
export class PinnedIdentities {
  private readonly file: string;
  private keys: Record<string, string>;

  constructor(
    stateDir: string,
    private readonly cipher: StateCipher = cipherFor(stateDir),
  ) {
    this.file = path.join(stateDir, PINNED_FILE);
    const raw = readStateFile(cipher, this.file);
    this.keys = raw ? (JSON.parse(raw.toString('utf8')) as Record<string, string>) : {};
  }

  /**
   * Checks the directory the aggregator forwarded against the pinned keys and pins new banks.
   * Throws SecAggError('inconsistent') naming every bank whose key changed.
   */
  check(directory: ReadonlyMap<string, Uint8Array>): void {
    const changed: string[] = [];
    let added = false;
    for (const [bankId, key] of directory) {
      const text = toBase64(key);
      const pinned = this.keys[bankId];
      if (pinned === undefined) {
        this.keys[bankId] = text;
        added = true;
      } else if (pinned !== text) changed.push(bankId);
    }
    if (changed.length)
      throw new SecAggError(
        'inconsistent',
        `the identity key of ${changed.join(', ')} differs from the one this bank pinned (${this.file}); refusing the round`,
        { stage: 'advertise_keys', banks: changed },
      );
    if (added) writeStateFile(this.cipher, this.file, `${JSON.stringify(this.keys, null, 2)}\n`);
  }
}
