/**
 * Where the bank's state key comes from: `--state-key-file <file>`, FINSECURE_STATE_KEY_FILE
 * or FINSECURE_STATE_KEY (that order). A key is 32 random bytes written as base64 (44
 * characters) or hex (64), e.g. `openssl rand -base64 32 > state.key; chmod 600 state.key`.
 * The key itself is never logged; only its id (envelope.ts keyIdOf).
 */
import { readFileSync } from 'node:fs';

export const STATE_KEY_SETTINGS = '--state-key-file / FINSECURE_STATE_KEY_FILE / FINSECURE_STATE_KEY';

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
export function resolveStateKey(opts: { file?: string | undefined; env?: NodeJS.ProcessEnv }): StateKey | null {
  const env = opts.env ?? {};
  const file = opts.file ?? (env.FINSECURE_STATE_KEY_FILE || undefined);
  if (file) {
    const source = opts.file ? `--state-key-file ${file}` : `FINSECURE_STATE_KEY_FILE ${file}`;
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
  if (env.FINSECURE_STATE_KEY)
    return { key: parseStateKey(env.FINSECURE_STATE_KEY, 'FINSECURE_STATE_KEY'), source: 'FINSECURE_STATE_KEY' };
  return null;
}
