/**
 * Where a sealed file of the bank's state is (its context, bound into the ciphertext so that it
 * cannot be moved elsewhere), and the files an older version sealed for the state directory's name.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isSealed, StateCryptoError, type StateCipher } from './envelope.js';

/** Roots of the state directories opened in this process (resolved paths; state.ts registers them). */
const roots = new Set<string>();

/**
 * Marks `stateDir` as a state directory's root: a file directly in it is sealed for its name alone,
 * so that the directory can be renamed, copied or restored from a backup under another name.
 */
export function registerStateRoot(stateDir: string): void {
  roots.add(path.resolve(stateDir));
}

/**
 * The context a file is sealed for (bound into the ciphertext, so that it cannot be moved to
 * another place): `file:<name>` for a file directly in a state directory, `file:<parent>/<name>`
 * below it (`model/model.json`, `v3/weights.bin`).
 */
export function contextOf(file: string): string {
  return roots.has(path.dirname(path.resolve(file))) ? `file:${path.basename(file)}` : legacyContextOf(file);
}

/**
 * The context versions before 2026-12-04 sealed every file for: its parent directory's name and
 * its own, which for a file directly in the state directory is the state directory's name.
 */
function legacyContextOf(file: string): string {
  return `file:${path.basename(path.dirname(file))}/${path.basename(file)}`;
}

/**
 * Opens `blob` read from `file`: for its context, else for the legacy context of a file an older
 * version sealed (resealInPlace moves such files to the new context at start-up).
 * @throws StateCryptoError naming the file; for a top-level file, what a renamed directory needs
 */
export function openAt(cipher: StateCipher, blob: Uint8Array, file: string): Buffer {
  const context = contextOf(file);
  try {
    return cipher.open(blob, context);
  } catch (err) {
    const legacy = legacyContextOf(file);
    if (legacy === context || !(err instanceof StateCryptoError)) throw err;
    try {
      return cipher.open(blob, legacy);
    } catch {
      if (!err.message.includes('authentication failed')) throw err;
      throw new StateCryptoError(
        `${file}: ${err.message}; if an older version of FinSecure sealed it, it is bound to the state directory's name at the time: give the directory its original name, start the bank once, then rename it`,
      );
    }
  }
}

/**
 * Reseals, in the current context, a sealed file (or each line of a line log) that opens only in
 * the legacy context; returns whether it changed. Left alone when it opens in neither (the read
 * that needs it says why).
 */
export function resealInPlace(cipher: StateCipher, file: string, lines = false): boolean {
  if (!cipher.encrypted || !existsSync(file)) return false;
  const context = contextOf(file);
  const legacy = legacyContextOf(file);
  if (legacy === context) return false;
  const reseal = (blob: Buffer): Buffer | null => {
    if (!isSealed(blob)) return null;
    try {
      cipher.open(blob, context);
      return null;
    } catch {
      try {
        return cipher.seal(cipher.open(blob, legacy), context);
      } catch {
        return null;
      }
    }
  };
  const data = readFileSync(file);
  let out: Buffer | null;
  if (lines) {
    let changed = false;
    const all = data.toString('utf8').split('\n');
    const torn = all.pop()!; // kept as it is, without its newline (readStateLines leaves it out)
    const text = all
      .filter((l) => l.length > 0)
      .map((l) => {
        const again = reseal(Buffer.from(l, 'base64'));
        if (!again) return l;
        changed = true;
        return again.toString('base64');
      });
    out = changed ? Buffer.from(text.map((l) => `${l}\n`).join('') + torn, 'utf8') : null;
  } else out = reseal(data);
  if (!out) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, out, { mode: 0o600 });
  renameSync(tmp, file);
  return true;
}
