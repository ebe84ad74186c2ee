/**
 * The one place the bank turns a transaction file into a safe copy: `finsecure-bank
 * anonymise` (cli/anonymise.ts) and the console's Anonymise page (console/plugins/
 * anonymise.ts) both validate their settings with `AnonymiseSettings` and call
 * `runAnonymise`, so the two cannot drift apart. The pipeline itself (roles, plan,
 * transforms, k-anonymity, atomic file writer) is @finsecure/common/anonymise.
 */
import { createReadStream, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import {
  anonymiseFile,
  anonymiseMappingSchema,
  COLUMN_ROLES,
  MinKError,
  resolveRoles,
  type AnonymiseReport,
} from '@finsecure/common/anonymise';
import { DataError, isGzipFile, splitCsvLine } from '@finsecure/common/data';

/** Default band edges of `amount: 'band'` (currency units), as the CLI's --bands help states. */
export const DEFAULT_BAND_EDGES = [0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

/**
 * Settings of one run, shared by the CLI flags and the console's form. Defaults: Laplace
 * noise with ε = 1 per transaction after clipping amounts to [0, 1000] (keyed: the same
 * noise in every export of a transaction); timestamps to the hour; no minimum k;
 * unclassified columns dropped and reported (`unclassified: 'refuse'` answers an error
 * naming them instead, so nothing is released the person did not see). When a customer or
 * account pseudonym is released, k (and minK) counts people by their whole record, or, with
 * `knownTransactions: m`, against an adversary who knows m of their transactions (k^m).
 */
export const AnonymiseSettings = z.object({
  mapping: anonymiseMappingSchema.optional(),
  amount: z.enum(['laplace', 'band']).default('laplace'),
  // Bounded: a vast ε adds no noise to speak of (the copy would be exact amounts under a
  // "noised" label), a vast clip or a tiny ε a noise scale clip/ε that is not finite.
  epsilon: z.number().min(1e-3).max(10).default(1),
  clip: z.number().positive().max(1e9).default(1000),
  bands: z
    .array(z.number().finite())
    .min(2)
    .refine((e) => e.every((x, i) => i === 0 || x > e[i - 1]!), { message: 'band edges must be strictly increasing' })
    .optional(),
  time: z.enum(['hour', 'day']).default('hour'),
  minK: z.number().int().min(1).optional(),
  knownTransactions: z.number().int().min(1).optional(),
  unclassified: z.enum(['drop', 'refuse']).default('drop'),
});
export type AnonymiseSettings = z.infer<typeof AnonymiseSettings>;

/** Columns the classifier could not place while `unclassified: 'refuse'`: nothing was written. */
export class UnclassifiedColumnsError extends Error {
  constructor(
    readonly file: string,
    readonly columns: string[],
    readonly header: string[],
  ) {
    super(
      `${file}: cannot tell what column${columns.length > 1 ? 's' : ''} ${columns.map((c) => `"${c}"`).join(', ')} ` +
        `hold${columns.length > 1 ? '' : 's'} (not a known header name). Give ${columns.length > 1 ? 'them roles' : 'it a role'} in the mapping ` +
        '(drop, keep, categorical, name, customer-id, ...) or choose to drop unclassified columns. Nothing was written.',
    );
    this.name = 'UnclassifiedColumnsError';
  }
}

/**
 * Reads the header line only and checks it before any output exists: a header of one
 * field holding ';', '\t' or '|' is a file with another delimiter (the pipeline reads
 * commas), answered as a DataError on line 1; with `refuse`, unclassified columns throw
 * UnclassifiedColumnsError. `name` is how errors name the file (an upload's own name).
 */
/** The header fields (first non-empty line), or undefined; plain or gzip. */
async function firstLine(input: string): Promise<string[] | undefined> {
  const file = createReadStream(input, { highWaterMark: 1 << 16 });
  let src: Readable = file;
  if (await isGzipFile(input)) src = file.pipe(createGunzip());
  const swallow = () => {}; // read errors surface again, with their reason, in anonymiseFile
  file.on('error', swallow);
  src.on('error', swallow);
  const lines = createInterface({ input: src, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const fields: string[] = [];
      const n = splitCsvLine(line, fields);
      return fields.slice(0, Math.max(n, 0)).map((h) => h.trim().replace(/^\uFEFF/, ''));
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    lines.close();
    file.destroy();
  }
}

async function checkHeader(input: string, name: string, s: AnonymiseSettings): Promise<void> {
  const header = await firstLine(input);
  if (header === undefined) return; // empty or unreadable: anonymiseFile reports it with its reason
  if (!header) return; // empty file: anonymiseFile reports it
  const sep = header.length === 1 ? [';', '\t', '|'].find((d) => header[0]!.includes(d)) : undefined;
  if (sep !== undefined)
    throw DataError.at(
      name,
      1,
      undefined,
      `the header has one column "${header[0]!.slice(0, 80)}": the file looks ${sep === '\t' ? 'tab' : `"${sep}"`}-separated; export it with commas`,
    );
  // Nothing recognised: the copy would hold no column at all (`a,b,c` → an empty file).
  const roles = resolveRoles(header, s.mapping, name);
  if (roles.every((c) => c.role === undefined))
    throw DataError.at(
      name,
      1,
      undefined,
      `none of the columns (${header.join(', ')}) is one the anonymiser knows, so the copy would have no column: ` +
        'expected columns such as customer_id or account_id, transaction_id, amount, time or timestamp, category, ' +
        `class or is_fraud, name, email (see the README), or give each column a role with --mapping {"columns": {"<header>": "<role>"}}, role one of ${COLUMN_ROLES.join(', ')}`,
    );
  if (s.unclassified === 'refuse') {
    const unplaced = roles.filter((c) => c.role === undefined);
    if (unplaced.length)
      throw new UnclassifiedColumnsError(
        name,
        unplaced.map((c) => c.header),
        header,
      );
  }
}

export interface AnonymiseRun {
  /** Transactions CSV (plain or .gz). */
  input: string;
  /** Safe copy; written atomically, and only if the run succeeds (see anonymiseFile). */
  output: string;
  /** HMAC-SHA-256 pseudonymisation key, ≥ 32 bytes. */
  key: Uint8Array;
  settings: AnonymiseSettings;
  /** Also write the report (JSON) here on success. */
  reportFile?: string;
  /** How messages name the input (default: its path). */
  name?: string;
}

/**
 * Runs the anonymisation pipeline with validated settings. Returns the report; throws
 * DataError (bad file, with line and column), MinKError (k below settings.minK: nothing
 * written), UnclassifiedColumnsError, or Error (bad key, mapping naming a missing column).
 */
export async function runAnonymise(r: AnonymiseRun): Promise<AnonymiseReport> {
  const s = r.settings;
  const name = r.name ?? r.input;
  await checkHeader(r.input, name, s);
  const report = await anonymiseFile({
    input: r.input,
    output: r.output,
    key: r.key,
    ...(s.mapping ? { mapping: s.mapping } : {}),
    amount: s.amount,
    epsilon: s.epsilon,
    clip: s.clip,
    ...(s.bands ? { bands: s.bands } : {}),
    time: s.time,
    ...(s.minK !== undefined ? { minK: s.minK } : {}),
    ...(s.knownTransactions !== undefined ? { knownTransactions: s.knownTransactions } : {}),
    ...(r.reportFile ? { reportFile: r.reportFile } : {}),
  });
  if (report.rows === 0) {
    // A header and no transaction: an "anonymised" copy of nothing is not a success.
    rmSync(r.output, { force: true });
    if (r.reportFile) rmSync(r.reportFile, { force: true });
    throw DataError.at(name, 2, undefined, 'no transactions after the header: nothing to anonymise');
  }
  return report;
}

/**
 * What kind of failure an error of `runAnonymise` is: 'refused' (min k not met),
 * 'input' (the file, the settings or the key is wrong: the person can fix it) or 'crash'.
 */
export function anonymiseFailureKind(err: unknown): 'refused' | 'input' | 'crash' {
  if (err instanceof MinKError) return 'refused';
  if (err instanceof DataError || err instanceof UnclassifiedColumnsError) return 'input';
  const msg = (err as Error)?.message ?? '';
  if (
    (err as NodeJS.ErrnoException)?.code === 'ENOENT' ||
    /key|mapping|epsilon|clip|band|minimum k|known transactions|output/.test(msg)
  )
    return 'input';
  return 'crash';
}
