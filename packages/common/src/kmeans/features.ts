/**
 * Per-customer behaviour features for segmentation, computed at the bank from its
 * transactions (handbook layout: CUSTOMER_ID, TX_DATETIME, TERMINAL_ID, TX_AMOUNT). Their
 * consortium-wide scaling is segments.ts's (Chan's mergeable moments).
 *
 * Written here because packages/common/src/accounts/ (account-level features of the
 * anomaly-detection work) did not exist yet; when it does, these should come from there.
 *
 * Night = 00:00–05:59 (hour < 6), the same definition as the account features of
 * common/src/accounts (`NIGHT_END`), so that "mostly at night" means one thing in the
 * account report and in the segments; weekend = Saturday or Sunday (of the timestamp's
 * own calendar date), as in the handbook (Le Borgne et al., ch. 3).
 *
 * Labels: where the file has a fraud label (TX_FRAUD in the handbook layout, Class in the
 * Kaggle / FinSecure layouts) a customer counts as "with fraud" when any of their
 * transactions is labelled 1. Only noised per-segment counts of such customers leave a bank.
 */
import { openLines, splitCsvLine } from '../data/csv.js';
import { DataError } from '../data/errors.js';
import { describeNumberProblem, parseDecimal } from '../data/numbers.js';
import type { Points } from './lloyd.js';

export const CUSTOMER_FEATURES = [
  'mean_amount',
  'total_amount',
  'tx_per_day',
  'night_share',
  'weekend_share',
  'distinct_terminals',
] as const;

interface Acc {
  n: number;
  fraud: boolean;
  total: number;
  night: number;
  weekend: number;
  terminals: Set<string>;
}

const DT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2})/;

/**
 * The calendar day (days since 1970-01-01) and hour of "YYYY-MM-DD HH…", or null when the text
 * is not that or names no real date and hour: Date.UTC would carry 2018-02-30 into March and
 * hour 24 into the next day without a word.
 */
function readDatetime(text: string): { day: number; hour: number } | null {
  const m = DT.exec(text);
  if (!m) return null;
  const [y, mo, d, hour] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!];
  const at = new Date(Date.UTC(y, mo - 1, d));
  if (hour > 23 || at.getUTCMonth() !== mo - 1 || at.getUTCDate() !== d) return null;
  return { day: at.getTime() / 86_400_000, hour };
}

/** Streams transactions in, one at a time; `finish` gives one feature row per customer. */
export class CustomerFeatureAccumulator {
  private readonly byCustomer = new Map<string, Acc>();
  private firstDay = Infinity;
  private lastDay = -Infinity;

  /**
   * @param datetime "YYYY-MM-DD HH:MM[:SS]" (local time of the transaction)
   * @returns false if the timestamp cannot be read (the caller reports the line)
   */
  add(customer: string, amount: number, datetime: string, terminal: string, fraud = false): boolean {
    const when = readDatetime(datetime);
    if (!when || !Number.isFinite(amount)) return false;
    const { day, hour } = when;
    const dow = new Date(day * 86_400_000).getUTCDay();
    let a = this.byCustomer.get(customer);
    if (!a)
      this.byCustomer.set(customer, (a = { n: 0, fraud: false, total: 0, night: 0, weekend: 0, terminals: new Set() }));
    a.n++;
    a.total += amount;
    if (fraud) a.fraud = true;
    if (hour < 6) a.night++;
    if (dow === 0 || dow === 6) a.weekend++;
    a.terminals.add(terminal);
    if (day < this.firstDay) this.firstDay = day;
    if (day > this.lastDay) this.lastDay = day;
    return true;
  }

  get customers(): number {
    return this.byCustomer.size;
  }

  /** First to last transaction day seen, inclusive (1 when nothing was added). */
  get periodDays(): number {
    return this.lastDay >= this.firstDay ? this.lastDay - this.firstDay + 1 : 1;
  }

  /**
   * Feature rows in CUSTOMER_FEATURES order, customers sorted by id.
   * @param periodDays the observation period for tx_per_day (default: first to last day seen, inclusive);
   *   give the consortium's common period so that every bank divides by the same number.
   */
  finish(periodDays?: number): { ids: string[]; points: Points; fraud: Uint8Array } {
    const days = periodDays ?? this.periodDays;
    const ids = [...this.byCustomer.keys()].sort();
    const d = CUSTOMER_FEATURES.length;
    const data = new Float64Array(ids.length * d);
    const fraud = new Uint8Array(ids.length);
    ids.forEach((id, i) => {
      const a = this.byCustomer.get(id)!;
      fraud[i] = a.fraud ? 1 : 0;
      data.set([a.total / a.n, a.total, a.n / days, a.night / a.n, a.weekend / a.n, a.terminals.size], i * d);
    });
    return { ids, points: { data, n: ids.length, d }, fraud };
  }

  /** Whether the file had a fraud label column (set by `customerFeaturesFromCsv`). */
  labelled = false;
}

/** Fraud label columns recognised, in order: handbook, then Kaggle / FinSecure. */
export const FRAUD_LABEL_COLUMNS = ['TX_FRAUD', 'Class'] as const;

/** Reads a handbook-layout CSV (plain or .gz) into per-customer features; bad rows are DataErrors with file:line. */
export async function customerFeaturesFromCsv(
  file: string,
  filter?: (customer: string) => boolean,
): Promise<CustomerFeatureAccumulator> {
  const acc = new CustomerFeatureAccumulator();
  const stream = await openLines(file);
  const f: string[] = [];
  let idx: { c: number; t: number; a: number; dt: number; y: number } | undefined;
  let header: string[] = [];
  let line = 0;
  try {
    for await (const l of stream.lines) {
      line++;
      if (l.trim() === '') continue;
      const n = splitCsvLine(l, f);
      if (!idx) {
        const h = (header = f.slice(0, n).map((s) => s.trim()));
        const need = ['CUSTOMER_ID', 'TERMINAL_ID', 'TX_AMOUNT', 'TX_DATETIME'];
        const miss = need.filter((x) => !h.includes(x));
        if (miss.length)
          throw DataError.at(file, 1, miss[0], `missing column(s) ${miss.join(', ')} (handbook layout expected)`);
        idx = {
          c: h.indexOf('CUSTOMER_ID'),
          t: h.indexOf('TERMINAL_ID'),
          a: h.indexOf('TX_AMOUNT'),
          dt: h.indexOf('TX_DATETIME'),
          y: FRAUD_LABEL_COLUMNS.map((c) => h.indexOf(c)).find((i) => i >= 0) ?? -1,
        };
        acc.labelled = idx.y >= 0;
        continue;
      }
      const cust = f[idx.c] ?? '';
      if (cust.trim() === '')
        throw DataError.at(file, line, 'CUSTOMER_ID', 'empty: every transaction needs its customer');
      if (filter && !filter(cust)) continue;
      // Strict, as the training loader (data/loader.ts): Number() reads '' as 0 and '0x64' as 100,
      // and a blank amount counted as a 0 transaction would halve the customer's mean_amount.
      const rawAmount = f[idx.a] ?? '';
      const amount = parseDecimal(rawAmount);
      if (typeof amount !== 'number')
        throw DataError.at(file, line, 'TX_AMOUNT', describeNumberProblem(amount, rawAmount));
      const fraud = idx.y >= 0 && readLabel(file, line, header[idx.y]!, f[idx.y] ?? '');
      const datetime = f[idx.dt] ?? '';
      if (!acc.add(cust, amount, datetime, f[idx.t] ?? '', fraud))
        throw DataError.at(
          file,
          line,
          'TX_DATETIME',
          `cannot read ${JSON.stringify(datetime.slice(0, 40))}: expected a real date and hour as "YYYY-MM-DD HH:MM[:SS]"`,
        );
    }
    await stream.done;
  } finally {
    stream.destroy();
  }
  return acc;
}

/** A fraud label cell: 0 or 1, as the training loader reads it; anything else is the row's error. */
function readLabel(file: string, line: number, column: string, raw: string): boolean {
  const y = parseDecimal(raw);
  if (y !== 0 && y !== 1) {
    const shown = raw.trim() === '' ? 'an empty value' : `"${raw.length > 40 ? raw.slice(0, 40) + '...' : raw}"`;
    throw DataError.at(file, line, column, `label must be 0 or 1, got ${shown}`);
  }
  return y === 1;
}
