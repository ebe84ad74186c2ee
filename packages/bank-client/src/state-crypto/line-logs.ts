/**
 * Append-only sealed line logs of the bank's state (one data key per line, base64 per line), such
 * as `audit-heads.jsonl`; a record torn by a crash is left out and cut off before the next append.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { StateCryptoError, type StateCipher } from './envelope.js';
import { contextOf, openAt } from './places.js';

/**
 * Appends one record to a line log (sealed then base64 when encrypted, as is otherwise). A record
 * is complete once its newline is written; a last line without one was torn by a crash while it was
 * appended (readers leave it out), and is cut off before the next record is appended, so that the
 * two never make one line.
 */
export function appendStateLine(cipher: StateCipher, file: string, line: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const out = cipher.encrypted ? cipher.seal(Buffer.from(line, 'utf8'), contextOf(file)).toString('base64') : line;
  cutTornRecord(file);
  appendFileSync(file, `${out}\n`, { mode: 0o600 });
}

/** Truncates `file` after its last newline when it ends in a torn record (no-op otherwise). */
function cutTornRecord(file: string): void {
  if (!existsSync(file)) return;
  // The last byte only, as a rule: the log grows by a line a round and is read whole only when torn.
  const fd = openSync(file, 'r');
  let torn: boolean;
  try {
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
  if (torn) truncateSync(file, readFileSync(file).lastIndexOf(0x0a) + 1);
}

/**
 * Reads a line log written by appendStateLine. A last line without its newline is a record torn by
 * a crash while it was appended, never completed: it is left out (`onTorn` is told). Any other
 * line that does not open is damage: StateCryptoError naming the file and the line number.
 */
export function readStateLines(cipher: StateCipher, file: string, onTorn?: (message: string) => void): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const all = text.split('\n');
  // split() leaves '' after a final newline; anything else there is the torn record.
  const torn = all.pop()!;
  if (torn.length > 0)
    onTorn?.(`${file}: line ${all.length + 1} was cut short (a crash while it was written?); it is left out`);
  const out: string[] = [];
  all.forEach((l, i) => {
    if (l.length === 0) return;
    if (!cipher.encrypted) return void out.push(l);
    try {
      out.push(openAt(cipher, Buffer.from(l, 'base64'), file).toString('utf8'));
    } catch (err) {
      if (err instanceof StateCryptoError) throw new StateCryptoError(`${file}, line ${i + 1}: ${err.message}`);
      throw err;
    }
  });
  return out;
}

/** Seals a plaintext line log in place (migration); returns whether anything changed. */
export function sealLinesInPlace(cipher: StateCipher, file: string): boolean {
  if (!existsSync(file)) return false;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  let changed = false;
  const out = lines.map((l) => {
    if (l.startsWith('{')) {
      changed = true;
      return cipher.seal(Buffer.from(l, 'utf8'), contextOf(file)).toString('base64');
    }
    return l;
  });
  if (changed) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, out.map((l) => `${l}\n`).join(''), { mode: 0o600 });
    renameSync(tmp, file);
  }
  return changed;
}
