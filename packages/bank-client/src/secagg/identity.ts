/**
 * The bank's identity for secure aggregation, kept in its state directory:
 * - `identity.key`: its Ed25519 private key (raw 32 bytes, base64; mode 0600), made at first
 *   start. The public key goes to the aggregator in every hello, and to the bank's log at start
 *   (`identityKey`, for the other banks' rosters).
 * - `secagg-identities.json`: the other banks' public keys as first seen (trust on first use).
 *   A round in which the aggregator forwards a different key for a known bank is refused:
 *   a swapped key would let the aggregator decrypt that bank's shares. Sealed when the bank
 *   state is encrypted at rest (state-crypto).
 *
 * Trust on first use does NOT stop an aggregator from naming banks this bank has never seen,
 * with keys it holds itself: made the whole neighbourhood of an honest bank, those invented banks
 * receive its shares and the aggregator unmasks its single update. Only a roster exchanged out of
 * band (`secaggRoster`, roster.ts) stops that: with one, every participant must be on it with
 * exactly its key, and the pins are not consulted.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cipherFor, readStateFile, writeStateFile, type StateCipher } from '../state-crypto/index.js';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  fromBase64,
  generateIdentityKeyPair,
  identityPublicKey,
  listBanks,
  SecAggError,
  toBase64,
  type IdentityKeyPair,
} from '@finsecure/common/secagg';
import type { SecAggRoster } from './roster.js';

export const IDENTITY_FILE = 'identity.key';
export const PINNED_FILE = 'secagg-identities.json';

/** Loads the bank's identity key pair, making (and saving, 0600) one at first start. Throws naming the file if it is damaged. */
export function loadOrCreateIdentity(stateDir: string): IdentityKeyPair {
  const existing = readIdentity(stateDir);
  if (existing) return existing;
  const file = path.join(stateDir, IDENTITY_FILE);
  const pair = generateIdentityKeyPair();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${toBase64(pair.privateKey)}\n`, { mode: 0o600, flag: 'wx' });
  return pair;
}

/**
 * The bank's identity key pair if it has one (null: no `identity.key` yet), never making one:
 * for a command that prints the public key (`identityKey`, a roster entry). Throws naming the
 * file if it is damaged.
 */
export function readIdentity(stateDir: string): IdentityKeyPair | null {
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
  return null;
}

/**
 * Logs, once at start, what the other banks' operators need and what protects this bank:
 * its identity public key (info, `identityKey`: the value of its entry in their rosters) and,
 * without a roster, a warning that secure rounds trust the aggregator's keys on first use.
 * A roster that leaves this bank out, or lists another key for it, would have every secure
 * round declined: that is a warning too.
 */
export function announceSecAggIdentity(
  bankId: string,
  identity: IdentityKeyPair,
  roster: SecAggRoster | null,
  logger: Pick<Logger, 'info' | 'warn'>,
): void {
  const identityKey = toBase64(identity.publicKey);
  logger.info(
    {
      bankId,
      identityKey,
      ...(roster ? { secaggRoster: roster.file, rosterBanks: Object.keys(roster.keys).length } : {}),
    },
    "this bank's secure-aggregation identity key (give it to the other banks' operators for their secaggRoster)",
  );
  if (!roster) {
    logger.warn(
      "secure aggregation without a roster (secaggRoster): this bank trusts the banks and keys the aggregator names on first use, so an aggregator that invents banks can learn this bank's update; set secaggRoster to the consortium's banks and keys",
    );
    return;
  }
  const own = roster.keys[bankId];
  if (own === undefined)
    logger.warn(
      { secaggRoster: roster.file },
      `the secure-aggregation roster does not list this bank (${bankId}): every secure round will be declined; add "${bankId}": "${identityKey}"`,
    );
  else if (own !== identityKey)
    logger.warn(
      { secaggRoster: roster.file },
      `the secure-aggregation roster lists another key for this bank (${bankId}) than its own ${identityKey}: every secure round will be declined`,
    );
}

/**
 * Checks the identity directory of a secure round (and its participants) against a roster.
 * Throws SecAggError naming the banks: 'protocol_violation' for a bank not on the roster,
 * 'inconsistent' for a key that differs from the roster's. The message is sent to the aggregator
 * (secagg_refused): bank ids only, never the roster's path.
 */
export function checkRoster(
  roster: SecAggRoster,
  directory: ReadonlyMap<string, Uint8Array>,
  participants: Iterable<string> = directory.keys(),
): void {
  const unknown = new Set<string>();
  const changed = new Set<string>();
  for (const bankId of participants) if (roster.keys[bankId] === undefined) unknown.add(bankId);
  for (const [bankId, key] of directory) {
    const listed = roster.keys[bankId];
    if (listed === undefined) unknown.add(bankId);
    else if (listed !== toBase64(key)) changed.add(bankId);
  }
  if (!unknown.size && !changed.size) return;
  const why = [
    ...(unknown.size
      ? [`${listBanks(unknown)} ${unknown.size > 1 ? 'are' : 'is'} not on this bank's secure-aggregation roster`]
      : []),
    ...(changed.size
      ? [`the identity key of ${listBanks(changed)} differs from the one on this bank's secure-aggregation roster`]
      : []),
  ];
  throw new SecAggError(unknown.size ? 'protocol_violation' : 'inconsistent', `${why.join('; ')}; refusing the round`, {
    stage: 'advertise_keys',
    banks: [...unknown, ...changed],
  });
}

/**
 * The other banks' identity keys: with a roster (`secaggRoster`), the roster's, and nothing else;
 * without one, pinned on first sight (trust on first use).
 */
export class PinnedIdentities {
  private readonly file: string;
  private keys: Record<string, string>;

  constructor(
    stateDir: string,
    private readonly cipher: StateCipher = cipherFor(stateDir),
    private readonly roster: SecAggRoster | null = null,
  ) {
    this.file = path.join(stateDir, PINNED_FILE);
    this.keys = this.read();
  }

  private read(): Record<string, string> {
    const raw = readStateFile(this.cipher, this.file);
    return raw ? (JSON.parse(raw.toString('utf8')) as Record<string, string>) : {};
  }

  /**
   * Checks the directory the aggregator forwarded for a round. With a roster (`opts.roster`, else
   * the constructor's): every bank of the directory and every participant must be on it with
   * exactly its key (checkRoster); nothing is pinned. Without: against the pinned keys, pinning
   * new banks; throws SecAggError('inconsistent') naming every bank whose key changed.
   */
  check(
    directory: ReadonlyMap<string, Uint8Array>,
    opts: { participants?: Iterable<string>; roster?: SecAggRoster | null } = {},
  ): void {
    const roster = opts.roster ?? this.roster;
    if (roster) return checkRoster(roster, directory, opts.participants);
    // The file is the record, read again at every check: the daemon's training rounds and its
    // analytics jobs each hold an instance, and a bank one of them pinned since this one was made
    // would otherwise be pinned here anew from whatever key the aggregator sends, and written over
    // the real one.
    this.keys = this.read();
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
        // The message goes to the aggregator: the file's name, not its path (outward.ts).
        `the identity key of ${changed.join(', ')} differs from the one this bank pinned (${PINNED_FILE}); refusing the round`,
        { stage: 'advertise_keys', banks: changed },
      );
    if (added) writeStateFile(this.cipher, this.file, `${JSON.stringify(this.keys, null, 2)}\n`);
  }
}
