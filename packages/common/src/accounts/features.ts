/**
 * Per-account behaviour features, accumulated one transaction at a time (streaming: a
 * file of any length needs memory per account, not per row):
 *
 *   tx_count, amount_total, amount_mean, amount_max, amount_std (population, Welford),
 *   night_share (00:00–05:59, layouts with a time of day), weekend_share,
 *   distinct_merchants (terminal / merchant / counterparty), distinct_locations (when
 *   the layout has them), active_days, busiest_day_count (most transactions on one
 *   calendar day), balance_change (layouts with balances: last balance − opening
 *   balance, the opening balance being the first balance minus the first signed amount).
 *
 * Which features exist depends on the layout (no invented zeros for columns a file does
 * not have), and `featureNamesFor` gives the order used everywhere.
 */
import { Growable } from '../data/growable.js';
import type { AccountLayoutName } from './layouts.js';

export interface Transaction {
  account: string;
  amount: number;
  day: number;
  secondOfDay: number;
  /** Merchant / terminal / counterparty key; '' when absent. */
  merchant: string;
  location: string;
  /** Balance after the transaction, NaN when absent. */
  balance: number;
  /** +1 credit, −1 debit (for the balance change). */
  sign: number;
  /** Ordering key within the file (line number), for balances on the same day. */
  order: number;
  /** 1 if labelled fraud, 0 otherwise (or unlabelled). */
  label: number;
}

export interface LayoutCapabilities {
  timeOfDay: boolean;
  merchants: boolean;
  locations: boolean;
  balances: boolean;
}

export const LAYOUT_CAPABILITIES: Record<AccountLayoutName, LayoutCapabilities> = {
  handbook: { timeOfDay: true, merchants: true, locations: false, balances: false },
  berka: { timeOfDay: false, merchants: true, locations: false, balances: true },
  export: { timeOfDay: true, merchants: true, locations: true, balances: false },
};

/** Feature names, in column order, for a layout. */
export function featureNamesFor(c: LayoutCapabilities): string[] {
  return [
    'tx_count',
    'amount_total',
    'amount_mean',
    'amount_max',
    'amount_std',
    ...(c.timeOfDay ? ['night_share'] : []),
    'weekend_share',
    ...(c.merchants ? ['distinct_merchants'] : []),
    ...(c.locations ? ['distinct_locations'] : []),
    'active_days',
    'busiest_day_count',
    ...(c.balances ? ['balance_change'] : []),
  ];
}

/** Display names used in reasons ("Mean amount is 4.2 robust SDs above …"). */
export const FEATURE_LABELS: Readonly<Record<string, string>> = {
  tx_count: 'Number of transactions',
  amount_total: 'Total amount',
  amount_mean: 'Mean amount',
  amount_max: 'Largest amount',
  amount_std: 'Spread of amounts',
  night_share: 'Share of night transactions',
  weekend_share: 'Share of weekend transactions',
  distinct_merchants: 'Distinct merchants',
  distinct_locations: 'Distinct locations',
  active_days: 'Active days',
  busiest_day_count: 'Transactions on the busiest day',
  balance_change: 'Balance change',
};

const NIGHT_END = 6 * 3600;

/**
 * Per-account running sums in struct-of-arrays form (one Float64Array per statistic,
 * indexed by account number): a million transactions over 20,000 accounts then cost no
 * per-account objects, Sets or Maps for the garbage collector to trace.
 */
class AccountColumns {
  capacity = 1024;
  count = new Float64Array(this.capacity);
  total = new Float64Array(this.capacity);
  mean = new Float64Array(this.capacity);
  m2 = new Float64Array(this.capacity);
  max = new Float64Array(this.capacity);
  night = new Float64Array(this.capacity);
  weekend = new Float64Array(this.capacity);
  frauds = new Float64Array(this.capacity);
  firstKey = new Float64Array(this.capacity);
  firstOpening = new Float64Array(this.capacity);
  lastKey = new Float64Array(this.capacity);
  lastBalance = new Float64Array(this.capacity);

  private static readonly FIELDS = [
    'count', 'total', 'mean', 'm2', 'max', 'night', 'weekend', 'frauds', 'firstKey', 'firstOpening', 'lastKey', 'lastBalance',
  ] as const; // prettier-ignore

  /** Initialises account i (growing the columns when needed). */
  open(i: number): void {
    if (i >= this.capacity) {
      const cap = this.capacity * 2;
      for (const f of AccountColumns.FIELDS) {
        const next = new Float64Array(cap);
        next.set(this[f]);
        this[f] = next;
      }
      this.capacity = cap;
    }
    this.max[i] = -Infinity;
    this.firstKey[i] = Infinity;
    this.lastKey[i] = -Infinity;
    this.firstOpening[i] = NaN;
    this.lastBalance[i] = NaN;
  }
}

/** Interns strings to small integers (0 is reserved for "absent"). */
class Codes {
  private readonly map = new Map<string, number>();
  code(s: string): number {
    if (s === '') return 0;
    let c = this.map.get(s);
    if (c === undefined) this.map.set(s, (c = this.map.size + 1));
    return c;
  }
  get size(): number {
    return this.map.size + 1;
  }
}

/**
 * Distinct (account, value) pairs per account, from per-row codes: sort the pair keys
 * once and count runs. Returns distinct values per account and, with `runs`, the
 * longest run (most rows sharing one value: the busiest day).
 */
function distinctPerAccount(
  account: Uint32Array,
  value: Float64Array,
  accounts: number,
  skipZero: boolean,
): { distinct: Float64Array; longest: Float64Array } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < value.length; i++) {
    if (value[i] < min) min = value[i];
    if (value[i] > max) max = value[i];
  }
  const span = value.length ? max - min + 1 : 1;
  const keys = new Float64Array(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    if (skipZero && value[i] === 0) continue;
    keys[n++] = account[i] * span + (value[i] - min);
  }
  const sorted = keys.subarray(0, n).sort();
  const distinct = new Float64Array(accounts);
  const longest = new Float64Array(accounts);
  let run = 0;
  for (let i = 0; i < n; i++) {
    const k = sorted[i];
    run = i > 0 && k === sorted[i - 1] ? run + 1 : 1;
    const a = Math.floor(k / span);
    if (run === 1) distinct[a]++;
    if (run > longest[a]) longest[a] = run;
  }
  return { distinct, longest };
}

/** Accounts × features, row-major, plus per-account labels when the file had them. */
export interface AccountTable {
  layout: AccountLayoutName;
  featureNames: string[];
  accounts: string[];
  /** accounts × featureNames.length, row-major. */
  features: Float64Array;
  /** Fraud transactions per account (all zero when unlabelled). */
  frauds: Int32Array;
  labelled: boolean;
  transactions: number;
}

/** Streams transactions into per-account sums; `finish` gives the table. */
export class AccountAggregator {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly cols = new AccountColumns();
  private readonly merchants = new Codes();
  private readonly locations = new Codes();
  private readonly rowAccount = new Growable(Uint32Array, 1 << 14);
  private readonly rowMerchant = new Growable(Float64Array, 1 << 14);
  private readonly rowLocation = new Growable(Float64Array, 1 << 14);
  private readonly rowDay = new Growable(Float64Array, 1 << 14);

  constructor(
    readonly layout: AccountLayoutName,
    private readonly labelled = false,
  ) {}

  add(t: Transaction): void {
    let a = this.index.get(t.account);
    if (a === undefined) {
      a = this.names.length;
      this.index.set(t.account, a);
      this.names.push(t.account);
      this.cols.open(a);
    }
    const c = this.cols;
    const count = ++c.count[a];
    c.total[a] += t.amount;
    // Welford: stable for large amounts where Σx² − n·mean² would cancel.
    const delta = t.amount - c.mean[a];
    c.mean[a] += delta / count;
    c.m2[a] += delta * (t.amount - c.mean[a]);
    if (t.amount > c.max[a]) c.max[a] = t.amount;
    if (t.secondOfDay < NIGHT_END) c.night[a]++;
    const wd = (((t.day + 4) % 7) + 7) % 7;
    if (wd === 0 || wd === 6) c.weekend[a]++;
    c.frauds[a] += t.label;
    if (t.balance === t.balance) {
      // Order by (day, position in file): same-day transactions keep file order.
      const key = t.day * 1e9 + t.order;
      if (key < c.firstKey[a]) {
        c.firstKey[a] = key;
        c.firstOpening[a] = t.balance - t.sign * t.amount;
      }
      if (key > c.lastKey[a]) {
        c.lastKey[a] = key;
        c.lastBalance[a] = t.balance;
      }
    }
    this.rowAccount.push(a);
    this.rowMerchant.push(this.merchants.code(t.merchant));
    this.rowLocation.push(this.locations.code(t.location));
    this.rowDay.push(t.day);
  }

  /** The table, accounts in order of first appearance. */
  finish(): AccountTable {
    const caps = LAYOUT_CAPABILITIES[this.layout];
    const names = featureNamesFor(caps);
    const d = names.length;
    const n = this.names.length;
    const account = this.rowAccount.finish();
    const merchants = distinctPerAccount(account, this.rowMerchant.finish(), n, true).distinct;
    const locations = distinctPerAccount(account, this.rowLocation.finish(), n, true).distinct;
    const days = distinctPerAccount(account, this.rowDay.finish(), n, false);
    const features = new Float64Array(n * d);
    const frauds = new Int32Array(n);
    const c = this.cols;
    for (let i = 0; i < n; i++) {
      const count = c.count[i];
      const row = [
        count,
        c.total[i],
        c.mean[i],
        c.max[i],
        Math.sqrt(c.m2[i] / count),
        ...(caps.timeOfDay ? [c.night[i] / count] : []),
        c.weekend[i] / count,
        ...(caps.merchants ? [merchants[i]] : []),
        ...(caps.locations ? [locations[i]] : []),
        days.distinct[i],
        days.longest[i],
        ...(caps.balances ? [c.lastBalance[i] === c.lastBalance[i] ? c.lastBalance[i] - c.firstOpening[i] : 0] : []),
      ];
      features.set(row, i * d);
      frauds[i] = c.frauds[i];
    }
    return {
      layout: this.layout,
      featureNames: names,
      accounts: [...this.names],
      features,
      frauds,
      labelled: this.labelled,
      transactions: account.length,
    };
  }
}
