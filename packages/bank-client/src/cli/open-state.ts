/**
 * Opening the bank's state directory at the start of a command (state-crypto/state.ts): a
 * missing or wrong key ends the command (exit 2) with a message naming the settings, before
 * anything is read. Separate from state-key.ts (the flag and `state-key new`) because
 * state-crypto loads the model code (TF.js): only the actions that open the state import it,
 * so that `finsecure-bank --help` does not.
 */
import { existsSync } from 'node:fs';
import { openDirWarning } from '@finsecure/common/config';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  createEnvelopeCipher,
  openBankState,
  PLAINTEXT_STATE,
  resolveStateKey,
  STATE_KEY_MARKER,
  StateKeyError,
  type StateCipher,
} from '../state-crypto/index.js';
import { fail } from './fail.js';

/**
 * Read-only commands (audit-heads, users list …) refuse a state directory that holds no bank
 * state, a mistyped --state-dir, instead of creating a new one there; exit 2.
 */
export function requireBankState(stateDir: string, setting = '--state-dir'): void {
  if (!existsSync(path.join(stateDir, STATE_KEY_MARKER)))
    fail(
      `no bank state at ${stateDir} (no ${STATE_KEY_MARKER}; \`finsecure-bank start\` creates it): check ${setting}`,
    );
}

/**
 * Opens `stateDir` with the configured key (flag, then `env`: FINSECURE_STATE_KEY_FILE, then
 * FINSECURE_STATE_KEY), migrating plaintext state once; exits 2 with a clear message on a
 * missing, malformed or wrong key. `origin` names settings `env` took from a config file.
 */
export function openStateOrFail(
  stateDir: string,
  flagFile: unknown,
  logger?: Logger,
  env: NodeJS.ProcessEnv = process.env,
  origin?: { stateKeyFile?: string; stateKey?: string },
): StateCipher {
  try {
    const key = resolveStateKey({ file: flagFile ? String(flagFile) : undefined, env, ...(origin ? { origin } : {}) });
    const { cipher, migrated } = openBankState(stateDir, key);
    if (migrated.length)
      logger?.warn({ files: migrated, keyId: cipher.keyId }, `encrypted the plaintext state files of ${stateDir}`);
    else logger?.info({ keyId: cipher.keyId }, 'bank state encrypted at rest');
    warnIfOpen(stateDir, logger);
    return cipher;
  } catch (err) {
    if (err instanceof StateKeyError) fail(err.message);
    // A file in the way, no permission, a read-only disk: a setting to change, not a crash.
    const code = (err as NodeJS.ErrnoException).code;
    if (code && ['EEXIST', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS'].includes(code))
      fail(
        `--state-dir ${stateDir}: cannot use it as the bank's state directory (${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : 'not writable by this user'}: ${(err as Error).message})`,
      );
    throw err;
  }
}

/** Warns when other users of the machine may list or enter the state directory (openDirWarning). */
function warnIfOpen(stateDir: string, logger: Logger | undefined): void {
  // The files are sealed, but their names, sizes and times say what the bank keeps and when it trains.
  const open = logger && openDirWarning(stateDir);
  if (open) logger.warn({ stateDir, mode: open.mode }, open.message);
}

/**
 * The cipher of a key given for one file (score --model): no state directory involved. A
 * model from the state directory is sealed and needs the key (loadStateModel says so); a
 * plaintext model from elsewhere (the aggregator's download) is read without one.
 */
export function cipherFromKeyOrFail(flagFile: unknown): StateCipher {
  try {
    const key = resolveStateKey({ file: flagFile ? String(flagFile) : undefined, env: process.env });
    return key ? createEnvelopeCipher(key.key) : PLAINTEXT_STATE;
  } catch (err) {
    if (err instanceof StateKeyError) fail(err.message);
    throw err;
  }
}
