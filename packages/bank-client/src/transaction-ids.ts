/**
 * The transaction ids of a bank's CSV (plain or gzip), read in one streaming pass: the
 * column the console also uses (console/features.ts idColumns: the declared
 * --console-id-column when the file has it, else TRANSACTION_ID, tx_id, ...).
 * An empty set when the file has no such column.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { isGzipFile, splitCsvLine } from '@finsecure/common/data';
import { idColumns } from './console/features.js';

/**
 * @param onRepeated told once, after the pass, when an id is on more than one row: how many ids
 *   repeat and the first of them (with its lines). Not an error: an export may legitimately
 *   repeat a transaction, but a repeated row can land in both the training and the test split.
 */
export async function readTransactionIds(
  file: string,
  idColumn?: string,
  onRepeated?: (message: string) => void,
): Promise<Set<string>> {
  const out = new Set<string>();
  const firstLine = onRepeated ? new Map<string, number>() : null;
  let repeated = 0;
  let example: string | null = null;
  let lineNo = 0;
  const raw = createReadStream(file);
  const input: Readable = (await isGzipFile(file)) ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  const fields: string[] = [];
  let col: number | null = null;
  try {
    for await (const line of rl) {
      lineNo++;
      if (col === null) {
        splitCsvLine(line.replace(/^\uFEFF/, ''), fields);
        col = idColumns(fields.slice(), undefined, idColumn).transactionId;
        if (col < 0) break;
        continue;
      }
      splitCsvLine(line, fields);
      const v = fields[col]?.trim();
      if (!v) continue;
      if (firstLine) {
        const first = firstLine.get(v);
        if (first === undefined) firstLine.set(v, lineNo);
        else if (first > 0) {
          repeated++;
          example ??= `"${v}" on lines ${first} and ${lineNo}`;
          firstLine.set(v, -first); // counted once, however often it repeats
        }
      }
      out.add(v);
    }
  } finally {
    rl.close();
    raw.destroy();
  }
  if (repeated > 0)
    onRepeated?.(
      `${file}: ${repeated} transaction id${repeated === 1 ? ' is' : 's are'} on more than one row (first: ${example}); a repeated row can be both trained on and scored in the test split, which flatters the federation's metrics: remove the repeats`,
    );
  return out;
}
