/**
 * Where the bank's state key comes from: `--state-key-file <file>`, FINSECURE_STATE_KEY_FILE
 * or FINSECURE_STATE_KEY (that order). A key is 32 random bytes written as base64 (44
 * characters) or hex (64), made by `finsecure-bank state-key new --out <file>` (or
 * `openssl rand -base64 32 > state.key; chmod 600 state.key`). The key is required: every
 * command that reads the state directory stops without it. The key itself is never logged;
 * only its id (envelope.ts keyIdOf).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { keyIdOf } from './envelope.js';

export const STATE_KEY_SETTINGS = '--state-key-file / FINSECURE_STATE_KEY_FILE / FINSECURE_STATE_KEY';

/** The sentence every "no key" message ends with: how to make a key and where to give it. */
export const STATE_KEY_HOWTO =
  'create one with `finsecure-bank state-key new --out <file>` (32 random bytes, mode 0600; keep a copy: the state ' +
  'cannot be read without it) and give it with --state-key-file <file>, env FINSECURE_STATE_KEY_FILE=<file>, or the ' +
  'key itself in env FINSECURE_STATE_KEY';

/** A missing, unreadable or malformed state key, or one that does not open the state directory. */
export class StateKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateKeyError';
  }
}

export interface StateKey {
  key: Buffer;
  /** Which setting gave it (for messages; never the key). */
  source: string;
}

/** Parses 32 bytes from base64 or hex text; throws StateKeyError naming `source`. */
export function parseStateKey(text: string, source: string): Buffer {
  const t = text.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=$/.test(t) || /^[A-Za-z0-9_-]{43}$/.test(t)) key = Buffer.from(t, 'base64');
  if (!key || key.length !== 32)
    throw new StateKeyError(
      `${source}: a state key must be 32 random bytes as base64 (44 characters) or hex (64), e.g. \`openssl rand -base64 32\``,
    );
  return key;
}

/**
 * The configured state key, or null when none of the settings is given.
 * @throws StateKeyError when the key file cannot be read or the key is malformed
 */
export function resolveStateKey(opts: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Where the env's values came from when not the environment (a config file's key), for errors. */
  origin?: { stateKeyFile?: string; stateKey?: string };
}): StateKey | null {
  const env = opts.env ?? {};
  const file = opts.file ?? (env.FINSECURE_STATE_KEY_FILE || undefined);
  if (file) {
    const source = opts.file
      ? `--state-key-file ${file}`
      : `${opts.origin?.stateKeyFile ?? 'FINSECURE_STATE_KEY_FILE'} ${file}`;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new StateKeyError(
        `${source}: cannot read the state key (${e.code === 'ENOENT' ? 'no such file' : e.message})`,
      );
    }
    return { key: parseStateKey(text, source), source };
  }
  if (env.FINSECURE_STATE_KEY) {
    const source = opts.origin?.stateKey ?? 'FINSECURE_STATE_KEY';
    return { key: parseStateKey(env.FINSECURE_STATE_KEY, source), source };
  }
  return null;
}

/**
 * Writes a new random state key (32 bytes from node:crypto randomBytes, base64, one line)
 * to `file` with mode 0600; refuses to overwrite an existing file, since the state sealed
 * under the old key could not be read any more.
 * @returns the key's public id (envelope.ts keyIdOf)
 * @throws StateKeyError naming the file when it exists or cannot be written
 */
export function writeNewStateKeyFile(file: string): string {
  const key = randomBytes(32);
  try {
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST')
      throw new StateKeyError(
        `${file} already exists: refusing to overwrite a state key (the state sealed under it could not be read any more); choose another --out`,
      );
    throw new StateKeyError(
      `${file}: cannot write the state key (${e.code === 'ENOENT' ? 'no such directory' : e.message})`,
    );
  }
  return keyIdOf(key);
}

/**
 * The key in `file`, created first (writeNewStateKeyFile) when the file does not exist:
 * for local federations and simulations that keep a key beside their working directory.
 * @throws StateKeyError naming the file when it is unreadable or malformed
 */
export function loadOrCreateStateKeyFile(file: string): StateKey {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeNewStateKeyFile(file);
  }
  return resolveStateKey({ file })!;
}
