/**
 * Opening the bank's state directory: checks the configured state key against the key
 * the directory is encrypted under, and encrypts a directory's plaintext state once, the
 * first time a key is given.
 *
 * `<state-dir>/state-key.json` records the key id and a value sealed under the key (a
 * known check string), so a wrong key is refused at start-up, before anything is read or
 * written, instead of failing later on the first sealed file.
 *
 * | directory \ key          | key given                        | no key                              |
 * | new or never encrypted   | encrypt its files once (migrate) | refuse: how to make a key, settings |
 * | encrypted                | key must match, else refuse      | refuse: names the settings          |
 *
 * There is no plaintext mode any more (issue 17 item 7): the key is required, so a
 * forgotten setting cannot silently leave transactions and labels readable on disk.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createEnvelopeCipher, isSealed, PLAINTEXT_STATE, StateCryptoError, type StateCipher } from './envelope.js';
import { sealFileInPlace, writeStateFile } from './files.js';
import { sealLinesInPlace } from './line-logs.js';
import { registerStateRoot, resealInPlace } from './places.js';
import { STATE_KEY_HOWTO, STATE_KEY_SETTINGS, StateKeyError, type StateKey } from './key.js';

export const STATE_KEY_MARKER = 'state-key.json';
const CHECK = 'finsecure bank state key check v1';

/** Files of the state directory that are sealed whole (relative paths; models added below). */
export const SEALED_FILES = ['privacy.json', 'secagg-identities.json', 'feedback.json'];
export const SEALED_LINE_LOGS = ['audit-heads.jsonl'];

const opened = new Map<string, StateCipher>();

/**
 * The cipher of a state directory opened in this process (PLAINTEXT_STATE when it was not
 * opened with a key). The state stores (privacy ledger, audit heads, pinned identities,
 * models) take it from here by default, so code that only knows the directory, such as the
 * secure-aggregation setup, reads and writes the same way as the rest.
 */
export function cipherFor(stateDir: string): StateCipher {
  return opened.get(path.resolve(stateDir)) ?? PLAINTEXT_STATE;
}

export interface OpenedState {
  cipher: StateCipher;
  /** State files found in plaintext and encrypted now (relative paths); empty otherwise. */
  migrated: string[];
}

function modelFiles(stateDir: string): string[] {
  const out: string[] = [];
  const add = (rel: string) => {
    for (const f of ['model.json', 'weights.bin'])
      if (existsSync(path.join(stateDir, rel, f))) out.push(path.join(rel, f));
  };
  add('model');
  const models = path.join(stateDir, 'models');
  if (existsSync(models)) for (const v of readdirSync(models)) add(path.join('models', v));
  return out;
}

/**
 * Opens `stateDir` with `key` (null: none configured). See the table above.
 * @throws StateKeyError naming the settings when the key is missing or wrong
 */
export function openBankState(stateDir: string, key: StateKey | null): OpenedState {
  const marker = path.join(stateDir, STATE_KEY_MARKER);
  if (!existsSync(marker)) {
    if (!key)
      throw new StateKeyError(
        `no state key is configured for ${stateDir}: the bank's state (global model, labels, decisions, console database, privacy ledger) is encrypted at rest with AES-256-GCM and needs a key; ${STATE_KEY_HOWTO}`,
      );
    const cipher = createEnvelopeCipher(key.key);
    registerStateRoot(stateDir);
    refuseOtherKey(stateDir, cipher);
    // The marker first: a crash half-way leaves a directory that refuses to start without
    // the key, and the next start with it seals what is left (sealed files are skipped).
    writeStateFile(
      PLAINTEXT_STATE,
      marker,
      `${JSON.stringify({ format: 1, keyId: cipher.keyId, check: cipher.seal(Buffer.from(CHECK), 'state-key-check').toString('base64') })}\n`,
    );
    opened.set(path.resolve(stateDir), cipher);
    return { cipher, migrated: sealExisting(stateDir, cipher) };
  }
  let m: { keyId?: string; check?: string };
  try {
    m = JSON.parse(readFileSync(marker, 'utf8')) as typeof m;
  } catch (err) {
    throw new StateKeyError(`${marker}: cannot read the state key marker (${(err as Error).message})`);
  }
  if (!key)
    throw new StateKeyError(
      `${stateDir} is encrypted at rest (key id ${m.keyId}) but no state key is configured: set ${STATE_KEY_SETTINGS} to the key it was encrypted under`,
    );
  const cipher = createEnvelopeCipher(key.key);
  try {
    if (cipher.open(Buffer.from(m.check ?? '', 'base64'), 'state-key-check').toString() !== CHECK) throw new Error();
  } catch {
    throw new StateKeyError(
      `the state key from ${key.source} (key id ${cipher.keyId}) is not the key ${stateDir} is encrypted under (key id ${m.keyId}): set ${STATE_KEY_SETTINGS} to that key`,
    );
  }
  registerStateRoot(stateDir);
  opened.set(path.resolve(stateDir), cipher);
  return { cipher, migrated: sealExisting(stateDir, cipher) };
}

/**
 * A directory without its marker (lost, deleted) may still hold files sealed under a key: a
 * different key given now must not write a new marker over them, which would lock the real key
 * out. Each sealed file's header names its key (envelope.ts).
 * @throws StateKeyError naming the file, its key id and the settings
 */
function refuseOtherKey(stateDir: string, cipher: StateCipher): void {
  const files = [...SEALED_FILES, ...SEALED_LINE_LOGS, ...modelFiles(stateDir)].map((rel) => path.join(stateDir, rel));
  for (const file of files) {
    if (!existsSync(file)) continue;
    let blob = readFileSync(file);
    // A line log: its first line, base64.
    if (SEALED_LINE_LOGS.includes(path.basename(file)) && !isSealed(blob))
      blob = Buffer.from(blob.toString('utf8').split('\n')[0] ?? '', 'base64');
    if (!isSealed(blob)) continue;
    const id = blob.subarray(4, 12).toString('hex');
    if (id !== cipher.keyId)
      throw new StateKeyError(
        `${stateDir} has no ${STATE_KEY_MARKER}, but ${file} is encrypted under state key ${id}, not the configured key ${cipher.keyId}: set ${STATE_KEY_SETTINGS} to the key the directory was encrypted under (a new marker is written for it)`,
      );
  }
}

/**
 * The start-up check of code that uses a state directory without opening it (BankClient):
 * it must have been opened with its key in this process (openBankState).
 * @throws StateKeyError saying how to make and give a key
 */
export function requireOpenedState(stateDir: string): StateCipher {
  const cipher = opened.get(path.resolve(stateDir));
  if (!cipher)
    throw new StateKeyError(
      `the bank's state directory ${stateDir} was not opened with a state key (openBankState) before use; ${STATE_KEY_HOWTO}`,
    );
  return cipher;
}

/** Seals whatever plaintext state files are present (idempotent). */
function sealExisting(stateDir: string, cipher: StateCipher): string[] {
  const out: string[] = [];
  try {
    for (const rel of [...SEALED_FILES, ...modelFiles(stateDir)])
      if (sealFileInPlace(cipher, path.join(stateDir, rel))) out.push(rel);
    for (const rel of SEALED_LINE_LOGS) if (sealLinesInPlace(cipher, path.join(stateDir, rel))) out.push(rel);
    // Files an older version sealed for the directory's name, moved to their name alone (files.ts).
    for (const rel of SEALED_FILES) resealInPlace(cipher, path.join(stateDir, rel));
    for (const rel of SEALED_LINE_LOGS) resealInPlace(cipher, path.join(stateDir, rel), true);
  } catch (err) {
    if (err instanceof StateCryptoError) throw new StateKeyError(err.message);
    throw err;
  }
  return out;
}

export { StateKeyError, STATE_KEY_SETTINGS } from './key.js';
