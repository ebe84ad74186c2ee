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

export async function readTransactionIds(file: string, idColumn?: string): Promise<Set<string>> {
  const out = new Set<string>();
  const raw = createReadStream(file);
  const input: Readable = (await isGzipFile(file)) ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  const fields: string[] = [];
  let col: number | null = null;
  try {
    for await (const line of rl) {
      if (col === null) {
        splitCsvLine(line.replace(/^\uFEFF/, ''), fields);
        col = idColumns(fields.slice(), undefined, idColumn).transactionId;
        if (col < 0) break;
        continue;
      }
      splitCsvLine(line, fields);
      const v = fields[col]?.trim();
      if (v) out.add(v);
    }
  } finally {
    rl.close();
    raw.destroy();
  }
  return out;
}
