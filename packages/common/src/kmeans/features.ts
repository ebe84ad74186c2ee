/**
 * Per-customer behaviour features for segmentation, computed at the bank from its
 * transactions (handbook layout: CUSTOMER_ID, TX_DATETIME, TERMINAL_ID, TX_AMOUNT), and
 * their scaling with consortium-wide statistics.
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
    const m = DT.exec(datetime);
    if (!m || !Number.isFinite(amount)) return false;
    const day = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) / 86_400_000;
    const hour = +m[4]!;
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
  let line = 0;
  try {
    for await (const l of stream.lines) {
      line++;
      if (l.trim() === '') continue;
      const n = splitCsvLine(l, f);
      if (!idx) {
        const h = f.slice(0, n).map((s) => s.trim());
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
      if (filter && !filter(cust)) continue;
      const amount = Number(f[idx.a]);
      const fraud = idx.y >= 0 && Number(f[idx.y]) === 1;
      if (!acc.add(cust, amount, f[idx.dt] ?? '', f[idx.t] ?? '', fraud))
        throw DataError.at(file, line, Number.isFinite(amount) ? 'TX_DATETIME' : 'TX_AMOUNT', 'cannot read this value');
    }
    await stream.done;
  } finally {
    stream.destroy();
  }
  return acc;
}

/** Per-feature count, sum and sum of squares: what each bank sends for global scaling. */
export interface FeatureMoments {
  count: number;
  sum: Float64Array;
  sumSq: Float64Array;
}

export function featureMoments(p: Points): FeatureMoments {
  const sum = new Float64Array(p.d);
  const sumSq = new Float64Array(p.d);
  for (let i = 0; i < p.n; i++)
    for (let t = 0; t < p.d; t++) {
      const v = p.data[i * p.d + t]!;
      sum[t]! += v;
      sumSq[t]! += v * v;
    }
  return { count: p.n, sum, sumSq };
}

export function mergeMoments(list: readonly FeatureMoments[]): FeatureMoments {
  if (list.length === 0) throw new Error('mergeMoments needs at least one bank');
  const d = list[0]!.sum.length;
  const out: FeatureMoments = { count: 0, sum: new Float64Array(d), sumSq: new Float64Array(d) };
  for (const m of list) {
    out.count += m.count;
    for (let t = 0; t < d; t++) {
      out.sum[t]! += m.sum[t]!;
      out.sumSq[t]! += m.sumSq[t]!;
    }
  }
  return out;
}

/** Standardises with the global moments: (x − mean) / std (population std; a constant feature gets std 1). */
export function standardise(p: Points, m: FeatureMoments): Points {
  const mean = Float64Array.from(m.sum, (s) => s / m.count);
  const std = mean.map((mu, t) => {
    const v = m.sumSq[t]! / m.count - mu * mu;
    return v > 1e-12 ? Math.sqrt(v) : 1;
  });
  const data = new Float64Array(p.data.length);
  for (let i = 0; i < p.n; i++)
    for (let t = 0; t < p.d; t++) data[i * p.d + t] = (p.data[i * p.d + t]! - mean[t]!) / std[t]!;
  return { data, n: p.n, d: p.d };
}
