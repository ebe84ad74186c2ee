/**
 * The `--state-key-file` flag shared by the commands that read or write the bank's state
 * directory, opening that directory at start-up (state-crypto/state.ts): a missing or
 * wrong key ends the command (exit 2) with a message naming the settings, before anything
 * is read; and `finsecure-bank state-key new --out <file>`, which makes a key.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import {
  createEnvelopeCipher,
  openBankState,
  PLAINTEXT_STATE,
  resolveStateKey,
  STATE_KEY_MARKER,
  StateKeyError,
  writeNewStateKeyFile,
  type StateCipher,
} from '../state-crypto/index.js';

export const STATE_KEY_HELP =
  "REQUIRED: file holding the 32-byte key (base64 or hex) the bank's state is encrypted under at rest (AES-256-GCM); " +
  'make one with `finsecure-bank state-key new --out <file>`; env FINSECURE_STATE_KEY_FILE, or the key itself in FINSECURE_STATE_KEY';

export function addStateKeyFlag(c: Command, help = STATE_KEY_HELP): Command {
  return c.option('--state-key-file <file>', help);
}

function fail(message: string): never {
  process.stderr.write(`finsecure-bank: ${message}\n`);
  process.exit(2);
}

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
 * missing, malformed or wrong key.
 */
export function openStateOrFail(
  stateDir: string,
  flagFile: unknown,
  logger?: Logger,
  env: NodeJS.ProcessEnv = process.env,
): StateCipher {
  try {
    const key = resolveStateKey({ file: flagFile ? String(flagFile) : undefined, env });
    const { cipher, migrated } = openBankState(stateDir, key);
    if (migrated.length)
      logger?.warn({ files: migrated, keyId: cipher.keyId }, `encrypted the plaintext state files of ${stateDir}`);
    else logger?.info({ keyId: cipher.keyId }, 'bank state encrypted at rest');
    return cipher;
  } catch (err) {
    if (err instanceof StateKeyError) fail(err.message);
    throw err;
  }
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

/** `finsecure-bank state-key new --out <file>`: a new random state key, mode 0600, never overwriting. */
export function addStateKeyCommand(program: Command, out: (s: string) => void = (s) => process.stdout.write(s)): void {
  const cmd = program
    .command('state-key')
    .description("Manage the key the bank's state directory is encrypted under at rest (AES-256-GCM)");
  cmd
    .command('new')
    .description(
      'Write a new random state key (32 bytes from node:crypto, base64) to --out with mode 0600; refuses to overwrite a file. ' +
        'Keep a copy somewhere safe: the state cannot be read without it. Give it to the bank with --state-key-file <file> ' +
        '(or env FINSECURE_STATE_KEY_FILE)',
    )
    .requiredOption('-o, --out <file>', 'file to create (must not exist)')
    .action((o: { out: string }) => {
      try {
        const keyId = writeNewStateKeyFile(o.out);
        out(
          `wrote a new state key to ${o.out} (mode 0600, key id ${keyId})\n` +
            `use it with: finsecure-bank start --state-key-file ${o.out} (or FINSECURE_STATE_KEY_FILE=${o.out})\n`,
        );
      } catch (err) {
        if (err instanceof StateKeyError) fail(err.message);
        throw err;
      }
    });
}
