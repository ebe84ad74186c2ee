/**
 * Reading a transaction file into per-account features: one streaming pass through the
 * shared line reader (data/csv.ts: plain or gzip), each row validated, then aggregated
 * (features.ts). Every bad cell stops the read with a DataError naming the file, the
 * line and the column; an empty file is an error too, never an empty report.
 */
import { openLines, splitCsvLine } from '../data/csv.js';
import { DataError } from '../data/errors.js';
import { AccountAggregator, type AccountTable, type Transaction } from './features.js';
import { planAccountColumns, type AccountColumns, type AccountLayoutName } from './layouts.js';
import { parseTimestamp } from './timestamp.js';

export interface ReadAccountsOptions {
  /** Default 'auto': detected from the header's account column. */
  layout?: 'auto' | AccountLayoutName;
}

/** Splits a semicolon-separated line (Berka), with "…" quoting; -1 on an unclosed quote. */
export function splitSemicolonLine(line: string, out: string[]): number {
  return splitCsvLine(line, out, ';');
}

function show(v: string): string {
  return v === '' ? 'an empty value' : `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
}

/** Parses one row into a Transaction; throws DataError at the bad cell. */
class RowParser {
  private readonly fields: string[] = [];
  private readonly split: (line: string, out: string[]) => number;
  private readonly berka: boolean;

  constructor(
    private readonly cols: AccountColumns,
    private readonly file: string,
    semicolons: boolean,
  ) {
    this.split = semicolons ? splitSemicolonLine : splitCsvLine;
    this.berka = cols.layout === 'berka';
  }

  private fail(line: number, col: number, problem: string): never {
    throw DataError.at(this.file, line, col >= 0 ? this.cols.header[col] : undefined, problem);
  }

  parse(line: string, lineNo: number): Transaction {
    const c = this.cols;
    const f = this.fields;
    const width = c.header.length;
    let n = this.split(line, f);
    if (n === -1) this.fail(lineNo, -1, 'unclosed quote');
    if (n > width) this.fail(lineNo, -1, `row has ${n} columns, header has ${width}`);
    // Trailing empty fields are often dropped (Berka's bank;account): treat them as empty. A row cut
    // before a column that must have a value is named as short, not as that column's bad value.
    const read = n;
    const required = Math.max(c.account, c.amount, c.time);
    if (read <= required) this.fail(lineNo, read, `missing (row has ${read} columns, header has ${width})`);
    while (n < width) f[n++] = '';

    const account = f[c.account].trim();
    if (account === '') this.fail(lineNo, c.account, 'empty account id');

    const rawAmount = f[c.amount].trim();
    const amount = rawAmount === '' ? NaN : Number(rawAmount);
    if (!Number.isFinite(amount)) this.fail(lineNo, c.amount, `amount is not a number: ${show(rawAmount)}`);
    if (amount < 0) {
      this.fail(
        lineNo,
        c.amount,
        `negative amount ${rawAmount}: amounts must be ≥ 0 (the direction belongs in the type column)`,
      );
    }

    const when = parseTimestamp(f[c.time], this.berka ? 'berka' : 'auto');
    if (typeof when === 'string') this.fail(lineNo, c.time, when);

    let merchant = '';
    if (c.merchant.length === 1) merchant = f[c.merchant[0]].trim();
    else if (c.merchant.length > 1) {
      const parts = c.merchant.map((i) => f[i].trim());
      if (parts.some((p) => p !== '')) merchant = parts.join('/');
    }

    let balance = NaN;
    if (c.balance >= 0) {
      const raw = f[c.balance].trim();
      if (raw !== '') {
        balance = Number(raw);
        if (!Number.isFinite(balance)) this.fail(lineNo, c.balance, `balance is not a number: ${show(raw)}`);
      }
    }

    let sign = 1;
    if (c.type >= 0) {
      const type = f[c.type].trim().toUpperCase();
      if (type === 'VYDAJ' || type === 'VYBER') sign = -1;
      else if (type !== 'PRIJEM') {
        this.fail(
          lineNo,
          c.type,
          `unknown transaction type ${show(type)}; expected PRIJEM (credit), VYDAJ (debit) or VYBER (withdrawal)`,
        );
      }
    }

    let label = 0;
    if (c.label >= 0) {
      const raw = f[c.label].trim();
      if (raw !== '0' && raw !== '1') this.fail(lineNo, c.label, `label must be 0 or 1, got ${show(raw)}`);
      label = raw === '1' ? 1 : 0;
    }

    return {
      account,
      amount,
      day: when.day,
      secondOfDay: when.secondOfDay,
      merchant,
      location: c.location >= 0 ? f[c.location].trim() : '',
      balance,
      sign,
      order: lineNo,
      label,
    };
  }
}

/** Header cells: BOM removed, quotes removed, trimmed. Semicolons when the line has no comma. */
function parseHeader(line: string, file: string): { header: string[]; semicolons: boolean } {
  const text = line.replace(/^\uFEFF/, '');
  const semicolons = text.includes(';') && !text.includes(',');
  const cells: string[] = [];
  const n = (semicolons ? splitSemicolonLine : splitCsvLine)(text, cells);
  if (n === -1) throw DataError.at(file, 1, undefined, 'unclosed quote in the header');
  const header = cells.slice(0, n).map((c) => c.trim());
  const empty = header.indexOf('');
  if (empty >= 0) throw DataError.at(file, 1, undefined, `header column ${empty + 1} has no name`);
  return { header, semicolons };
}

/**
 * Reads `file` (CSV or Berka `trans.asc`, plain or gzip) into an AccountTable. Throws
 * DataError for a missing account column, a bad cell (file:line: column "X": problem)
 * or a file with no transactions.
 */
export async function readAccountTable(file: string, options: ReadAccountsOptions = {}): Promise<AccountTable> {
  const stream = await openLines(file);
  let parser: RowParser | null = null;
  let aggregator: AccountAggregator | null = null;
  let lineNo = 0;
  try {
    for await (const line of stream.lines) {
      lineNo++;
      if (parser === null) {
        const { header, semicolons } = parseHeader(line, file);
        const cols = planAccountColumns(header, options.layout ?? 'auto', file);
        parser = new RowParser(cols, file, semicolons);
        aggregator = new AccountAggregator(cols.layout, cols.label >= 0);
        continue;
      }
      if (line.trim() === '') continue;
      aggregator!.add(parser.parse(line, lineNo));
    }
    await stream.done;
  } finally {
    stream.destroy();
  }
  if (aggregator === null) throw new DataError(`${file}: the file is empty (no header)`, file);
  const table = aggregator.finish();
  if (table.transactions === 0) throw new DataError(`${file}: no transactions after the header`, file, 2);
  return table;
}
