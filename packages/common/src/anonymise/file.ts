/**
 * The file side of the anonymisation pipeline: streams a (plain or gzip) CSV through an
 * `Anonymiser` into a temporary file beside the output, and renames it into place only
 * when the whole file went through and the minimum k is met. On any failure (bad row,
 * k too small, disk error) the temporary file is removed: nothing is written, and no
 * half-written file is ever left under the output name.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openLines, spreadsheetSafeField, splitCsvLine } from '../data/csv.js';
import { DataError } from '../data/errors.js';
import { Anonymiser, type AnonymiseOptions, type AnonymiseReport } from './plan.js';
import { resolveRoles, type AnonymiseMapping } from './roles.js';
import { pseudonym, checkPseudonymKey, type PseudonymKind } from './transforms.js';

export interface AnonymiseFileOptions extends AnonymiseOptions {
  input: string;
  output: string;
  /** Refuse to write when the k-anonymity of the quasi-identifiers is below this. */
  minK?: number;
  /** Also write the report (JSON) here, on success only. */
  reportFile?: string;
}

/** Thrown when the output would not meet the minimum k; carries the report (no file was written). */
export class MinKError extends Error {
  constructor(readonly report: AnonymiseReport) {
    super(minKMessage(report));
    this.name = 'MinKError';
  }
}

function minKMessage(r: AnonymiseReport): string {
  const qi = r.quasiIdentifiers.join(', ') || 'none';
  const generalise = 'generalise more (--time day, --amount band) or drop quasi-identifier columns with the mapping';
  if (!r.linkage)
    return (
      `k-anonymity of the quasi-identifiers (${qi}) is ${r.kAnonymity}, below the required minimum ${r.minK}: ` +
      `${r.rowsBelowMinK} of ${r.rows} rows are in smaller groups. Nothing was written. Generalise more (--time day, --amount band) or drop columns with the mapping.`
    );
  const l = r.linkage;
  const cols = l.columns.join(', ');
  const what =
    r.kDefinition === 'km'
      ? `k^${l.knownTransactions}-anonymity over people (an adversary knowing ${l.knownTransactions} of a person's transactions; quasi-identifiers ${qi})`
      : `k-anonymity of whole customer records (quasi-identifiers ${qi} over all of a person's transactions)`;
  return (
    `${what} is ${r.kAnonymity}, below the required minimum ${r.minK}: ${l.recordsBelowMinK} of ${l.records} people ` +
    `(${r.rowsBelowMinK} of ${r.rows} rows) can be narrowed to fewer than ${r.minK}. The released pseudonyms (${cols}) link ` +
    `each person's rows, so k counts people, not rows (per row it would be ${r.kAnonymityPerRow}). Nothing was written. ` +
    `Drop ${cols} with the mapping (e.g. {"columns": {"${l.columns[0]}": "drop"}}) to release unlinked rows, or ${generalise}.`
  );
}

function writeChunk(ws: WriteStream, s: string): Promise<void> | undefined {
  // Respect backpressure: wait for 'drain' only when the buffer is full.
  if (ws.write(s)) return undefined;
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    ws.once('error', onError);
    ws.once('drain', () => {
      ws.off('error', onError);
      resolve();
    });
  });
}

/** Anonymises `input` into `output`; returns the report. Throws DataError / MinKError / Error. */
export async function anonymiseFile(o: AnonymiseFileOptions): Promise<AnonymiseReport> {
  if (o.minK !== undefined && !(Number.isInteger(o.minK) && o.minK >= 1))
    throw new Error(`minimum k must be a positive integer, got ${o.minK}`);
  if (path.resolve(o.input) === path.resolve(o.output))
    throw new Error(`the output ${o.output} is the input file: refusing to overwrite the original`);
  const stream = await openLines(o.input);
  const tmp = path.join(
    path.dirname(path.resolve(o.output)),
    `.${path.basename(o.output)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const ws = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
  let wsError: Error | undefined;
  ws.on('error', (e) => (wsError = e));
  let ok = false;
  try {
    let anon: Anonymiser | undefined;
    let width = 0;
    let lineNo = 0;
    const fields: string[] = [];
    for await (const line of stream.lines) {
      lineNo++;
      if (wsError) throw wsError;
      if (line.trim() === '') continue;
      const n = splitCsvLine(line, fields);
      if (n < 0) throw DataError.at(o.input, lineNo, undefined, 'unclosed quote (multi-line fields are not supported)');
      if (!anon) {
        const header = fields.slice(0, n).map((h) => h.trim().replace(/^\uFEFF/, ''));
        anon = new Anonymiser(header, o, o.input);
        width = n;
        await writeChunk(ws, anon.outputHeader.map(spreadsheetSafeField).join(',') + '\n');
        continue;
      }
      if (n !== width) throw DataError.at(o.input, lineNo, undefined, `has ${n} fields, the header has ${width}`);
      const row = anon.transform(fields.slice(0, n), lineNo);
      const p = writeChunk(ws, row.map(spreadsheetSafeField).join(',') + '\n');
      if (p) await p;
    }
    await stream.done;
    if (!anon) throw new DataError(`${o.input}: the file is empty (no header)`, o.input);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (wsError) throw wsError;
    const report = anon.report(o.minK);
    if (!report.meetsMinK) throw new MinKError(report);
    await rename(tmp, o.output);
    ok = true;
    if (o.reportFile) await writeFile(o.reportFile, JSON.stringify(report, null, 2) + '\n', { mode: 0o600 });
    return report;
  } finally {
    stream.destroy();
    if (!ok) {
      // The file is opened asynchronously: wait until the stream has closed (after its open,
      // if that was still pending), or the temporary file could appear after it was removed.
      const closed = ws.closed ? Promise.resolve() : new Promise<void>((r) => ws.once('close', () => r()));
      ws.destroy();
      await closed;
      await rm(tmp, { force: true });
    }
  }
}

export interface Reidentified {
  pseudonym: string;
  column: string;
  original: string;
}

/**
 * Re-identification by the key holder: HMAC cannot be inverted, so the bank recomputes
 * the pseudonym of every customer, account and transaction id in one of its ORIGINAL
 * files and reports those that match `wanted`. Only someone with both the key and the
 * original data can do this, which is the point.
 */
export async function findOriginals(
  input: string,
  key: Uint8Array,
  wanted: readonly string[],
  mapping?: AnonymiseMapping,
): Promise<Reidentified[]> {
  checkPseudonymKey(key);
  const want = new Set(wanted);
  const found = new Map<string, Reidentified>();
  const stream = await openLines(input);
  try {
    let cols: { index: number; header: string; kind: PseudonymKind }[] | undefined;
    const fields: string[] = [];
    for await (const line of stream.lines) {
      if (line.trim() === '') continue;
      const n = splitCsvLine(line, fields);
      if (n < 0) continue;
      if (!cols) {
        const header = fields.slice(0, n).map((h) => h.trim().replace(/^\uFEFF/, ''));
        cols = resolveRoles(header, mapping, input).flatMap((c) =>
          c.role === 'customer-id' || c.role === 'account-id' || c.role === 'transaction-id'
            ? [{ index: c.index, header: c.header, kind: c.role.split('-')[0] as PseudonymKind }]
            : [],
        );
        if (cols.length === 0)
          throw new DataError(`${input}: no customer, account or transaction id column to re-identify from`, input);
        continue;
      }
      for (const c of cols) {
        const v = fields[c.index] ?? '';
        if (v === '') continue;
        const p = pseudonym(key, c.kind, v);
        if (want.has(p) && !found.has(p)) found.set(p, { pseudonym: p, column: c.header, original: v });
      }
      if (found.size === want.size) break;
    }
  } finally {
    stream.destroy();
  }
  return wanted.flatMap((w) => (found.has(w) ? [found.get(w)!] : []));
}
