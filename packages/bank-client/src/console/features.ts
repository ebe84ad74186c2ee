/**
 * What a transaction looks like to the console: the model's input features (named as in
 * the bank's layout or column mapping) and the id columns that travel with it through
 * scoring (transaction id, account or customer id, time) but are never model inputs.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import {
  HANDBOOK_FEATURES,
  KAGGLE_FEATURES,
  isGzipFile,
  splitCsvLine,
  type ColumnMapping,
  type LayoutName,
} from '@finsecure/common/data';

export interface FeatureSchema {
  /** Model input order (categoricals one-hot as `col=value`, after the numeric ones). */
  names: string[];
  numeric: string[];
  categorical: { name: string; categories: string[] }[];
  /** The feature shown and filtered as the amount, if the layout has one. */
  amountFeature: string | null;
}

/** Thrown when the bank's layout cannot describe the model's inputs. */
export class SchemaError extends Error {
  override name = 'SchemaError';
}

/**
 * The feature schema of the bank's layout, checked against the model's input size. With
 * `auto`, a 30-input model is the Kaggle layout and a 15-input one the handbook layout;
 * anything else needs the bank's `--mapping`.
 */
export function featureSchema(layout: 'auto' | LayoutName | ColumnMapping, inputSize: number): FeatureSchema {
  let numeric: string[];
  let categorical: { name: string; categories: string[] }[] = [];
  if (typeof layout === 'object') {
    numeric = [...layout.features];
    categorical = (layout.categorical ?? []).map((name) => {
      const categories = layout.categories?.[name];
      if (!categories) {
        throw new SchemaError(
          `the column mapping's categorical column "${name}" has no "categories" list: the console needs it to encode one transaction`,
        );
      }
      return { name, categories: [...categories] };
    });
  } else if (layout === 'kaggle' || (layout === 'auto' && inputSize === KAGGLE_FEATURES.length)) {
    numeric = [...KAGGLE_FEATURES];
  } else if (layout === 'handbook' || (layout === 'auto' && inputSize === HANDBOOK_FEATURES.length)) {
    numeric = [...HANDBOOK_FEATURES];
  } else {
    throw new SchemaError(
      `the model has ${inputSize} inputs, which is neither the Kaggle (30) nor the handbook (15) layout: start the console with the bank's --mapping`,
    );
  }
  const names = [...numeric, ...categorical.flatMap((c) => c.categories.map((v) => `${c.name}=${v}`))];
  if (names.length !== inputSize) {
    throw new SchemaError(`the bank's layout gives ${names.length} features, the model expects ${inputSize}`);
  }
  const amountFeature = numeric.find((n) => /amount/i.test(n)) ?? null;
  return { names, numeric, categorical, amountFeature };
}

/** Id fields a JSON transaction may carry besides its features. */
export const JSON_ID_FIELDS = ['transactionId', 'accountId', 'time'] as const;
/** The longest id kept (characters): a JSON request with a longer one is refused, a CSV cell is cut to it. */
export const MAX_ID_CHARS = 256;

/** Header names recognised as id columns, most specific first. */
const ID_CANDIDATES = {
  transactionId: ['TRANSACTION_ID', 'transaction_id', 'TransactionID', 'transactionId', 'tx_id', 'TX_ID', 'id', 'ID'],
  accountId: ['CUSTOMER_ID', 'customer_id', 'ACCOUNT_ID', 'account_id', 'accountId', 'customerId', '_group'],
  time: ['TX_DATETIME', 'timestamp', 'TIMESTAMP', 'datetime', 'TX_TIME_SECONDS', 'Time', '_time', 'time'],
} as const;

export interface IdColumns {
  transactionId: number;
  accountId: number;
  time: number;
}

/**
 * Positions of the id columns in a CSV header (-1 when absent): the bank's declared
 * transaction id column (`--console-id-column`) and a mapping's group / time win over the
 * usual names.
 */
export function idColumns(header: string[], mapping?: ColumnMapping, transactionIdColumn?: string): IdColumns {
  const find = (names: readonly string[], preferred?: string) => {
    if (preferred !== undefined && header.includes(preferred)) return header.indexOf(preferred);
    for (const n of names) if (header.includes(n)) return header.indexOf(n);
    return -1;
  };
  return {
    transactionId: find(ID_CANDIDATES.transactionId, transactionIdColumn),
    accountId: find(ID_CANDIDATES.accountId, mapping?.group),
    time: find(ID_CANDIDATES.time, mapping?.time),
  };
}

export interface RowIds {
  transactionId: string | null;
  accountId: string | null;
  time: string | null;
}

/**
 * Second streaming pass over a CSV that the loader already accepted: reads the id
 * columns of the given file lines only (the flagged ones), so memory holds ids for
 * alerts, never for every row. Line numbers are the loader's (1-based, header = 1).
 */
export async function readIds(
  file: string,
  lines: ReadonlySet<number>,
  mapping?: ColumnMapping,
  transactionIdColumn?: string,
): Promise<Map<number, RowIds>> {
  const out = new Map<number, RowIds>();
  if (lines.size === 0) return out;
  const raw = createReadStream(file);
  const input: Readable = (await isGzipFile(file)) ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let cols: IdColumns | null = null;
  const fields: string[] = [];
  // Capped as the JSON scoring's ids are (MAX_ID_CHARS): a cell of megabytes would be stored and
  // sent back with every list of alerts.
  const at = (i: number) =>
    i >= 0 && fields[i] !== undefined && fields[i]!.trim() !== '' ? fields[i]!.trim().slice(0, MAX_ID_CHARS) : null;
  for await (const line of rl) {
    lineNo++;
    if (cols === null) {
      splitCsvLine(line.replace(/^\uFEFF/, ''), fields);
      cols = idColumns(fields.slice(), mapping, transactionIdColumn);
      continue;
    }
    if (!lines.has(lineNo)) continue;
    splitCsvLine(line, fields);
    out.set(lineNo, { transactionId: at(cols.transactionId), accountId: at(cols.accountId), time: at(cols.time) });
    if (out.size === lines.size) break;
  }
  rl.close();
  raw.destroy();
  return out;
}
