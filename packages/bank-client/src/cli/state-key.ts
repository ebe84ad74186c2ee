/**
 * The `--state-key-file` flag shared by the commands that read or write the bank's state
 * directory, and opening that directory at start-up (state-crypto/state.ts): a missing or
 * wrong key ends the command with a message naming the settings, before anything is read.
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import {
  createEnvelopeCipher,
  openBankState,
  PLAINTEXT_STATE,
  resolveStateKey,
  STATE_KEY_SETTINGS,
  StateKeyError,
  type StateCipher,
} from '../state-crypto/index.js';

export const STATE_KEY_HELP =
  "file holding the 32-byte key (base64 or hex, e.g. `openssl rand -base64 32`) the bank's state is encrypted under at rest " +
  '(AES-256-GCM); env FINSECURE_STATE_KEY_FILE, or the key itself in FINSECURE_STATE_KEY. Required once the state directory is encrypted';

export function addStateKeyFlag(c: Command): Command {
  return c.option('--state-key-file <file>', STATE_KEY_HELP);
}

function fail(message: string): never {
  process.stderr.write(`finsecure-bank: ${message}\n`);
  process.exit(2);
}

/**
 * Opens `stateDir` with the configured key (flag, then environment), migrating plaintext
 * state once; exits 2 with a clear message on a missing, malformed or wrong key.
 */
export function openStateOrFail(stateDir: string, flagFile: unknown, logger?: Logger): StateCipher {
  try {
    const key = resolveStateKey({ file: flagFile ? String(flagFile) : undefined, env: process.env });
    const { cipher, migrated } = openBankState(stateDir, key);
    if (!cipher.encrypted)
      logger?.warn(`the bank's state in ${stateDir} is NOT encrypted at rest: set ${STATE_KEY_SETTINGS} to encrypt it`);
    else if (migrated.length)
      logger?.warn({ files: migrated, keyId: cipher.keyId }, `encrypted the plaintext state files of ${stateDir}`);
    else logger?.info({ keyId: cipher.keyId }, 'bank state encrypted at rest');
    return cipher;
  } catch (err) {
    if (err instanceof StateKeyError) fail(err.message);
    throw err;
  }
}

/** The cipher of a key given for one file (score --model): no state directory involved. */
export function cipherFromKeyOrFail(flagFile: unknown): StateCipher {
  try {
    const key = resolveStateKey({ file: flagFile ? String(flagFile) : undefined, env: process.env });
    return key ? createEnvelopeCipher(key.key) : PLAINTEXT_STATE;
  } catch (err) {
    if (err instanceof StateKeyError) fail(err.message);
    throw err;
  }
}
