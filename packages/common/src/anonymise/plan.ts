/**
 * The anonymisation plan: for each input column, what is released (if anything) and how;
 * then the row transformer that applies it and keeps the tallies the report needs. Pure:
 * the key is injected (the Laplace noise is derived from it too); the streaming file side
 * is in file.ts.
 */
import { DataError } from '../data/errors.js';
import { EquivalenceClasses } from './kanon.js';
import { PeopleK, type KDefinition, type LinkageReport } from './people-k.js';
import type { AnonymiseMapping, ColumnRole, ResolvedColumn } from './roles.js';
import { resolveRoles } from './roles.js';
import {
  amountBand,
  checkPseudonymKey,
  DEFAULT_BANDS,
  generaliseTime,
  keyedNoisyAmount,
  maskLastFour,
  pseudonym,
  timeUnitOf,
  type TimeGranularity,
} from './transforms.js';

export interface AnonymiseOptions {
  /** HMAC key, at least 32 bytes. */
  key: Uint8Array;
  mapping?: AnonymiseMapping;
  /** 'laplace' (default): Lap(clip/ε) per transaction; 'band': amount bands. */
  amount?: 'laplace' | 'band';
  /** ε per transaction for 'laplace' (default 1). */
  epsilon?: number;
  /** Clipping bound C of amounts for 'laplace' (default 1000), the sensitivity. */
  clip?: number;
  /** Band edges for 'band' (default DEFAULT_BANDS). */
  bands?: readonly number[];
  /** Timestamp generalisation (default 'hour'). */
  time?: TimeGranularity;
  /**
   * When a customer or account pseudonym links rows: k is counted over people, by default
   * for their whole record ('whole-record'); with m here, against an adversary who knows up
   * to m of a person's transactions instead (k^m-anonymity, 'km'). See `KDefinition`.
   */
  knownTransactions?: number;
}

export type ColumnAction =
  'dropped' | 'dropped (unclassified)' | 'pseudonymised' | 'masked' | 'laplace' | 'banded' | 'generalised' | 'kept';

export interface ColumnReport {
  column: string;
  role: ColumnRole | 'unclassified';
  roleSource: 'mapping' | 'header' | 'none';
  action: ColumnAction;
  /** Output header, when the column is released. */
  output?: string;
  quasiIdentifier: boolean;
  detail: string;
}

interface OutColumn {
  index: number;
  header: string;
  role: ColumnRole;
  /** `fields`: the whole original row (the keyed noise is derived from the transaction). */
  apply(value: string, line: number, fields: readonly string[]): string;
}

export interface AnonymiseReport {
  rows: number;
  columns: ColumnReport[];
  unclassified: string[];
  quasiIdentifiers: string[];
  /**
   * The k that holds for this file, under `kDefinition`, and the one minK is checked against
   * (0 for an empty table). With a customer or account pseudonym released it counts people,
   * not rows: rows with the same pseudonym are known to be one person's.
   */
  kAnonymity: number;
  kDefinition: KDefinition;
  /** What `kAnonymity` means for this file, in one sentence. */
  kStatement: string;
  /** The smallest class of rows with equal quasi-identifiers, as if rows were not linked. */
  kAnonymityPerRow: number;
  /** Classes of rows with equal quasi-identifiers. */
  equivalenceClasses: number;
  minK?: number;
  /** Whether `kAnonymity` meets minK (true without minK). */
  meetsMinK: boolean;
  /** Rows an adversary narrows to fewer than minK: rows in smaller classes, or the rows of such people. */
  rowsBelowMinK?: number;
  /** When released pseudonyms link rows into people's records (absent for 'rows'). */
  linkage?: LinkageReport;
  privacy: {
    amountMechanism: 'laplace' | 'band' | 'none';
    /**
     * ε spent on each transaction's amount (0 when no amount is noised). The noise is derived
     * from the key, the transaction and its amount (keyedNoisyAmount), so it holds across
     * repeated exports with the same key, ε and clip: they repeat the same noisy value.
     */
    epsilonPerTransaction: number;
    /** 'keyed' when amounts are noised: the noise repeats across exports, see `epsilonScope`. */
    noise?: 'keyed';
    /** What `epsilonPerTransaction` covers, in words (when amounts are noised). */
    epsilonScope?: string;
    clip?: number;
    /** Amounts outside [0, clip] that were clipped first. */
    amountsClipped?: number;
    /** The most transactions of one customer (pseudonym) in the file, when a customer id column exists. */
    maxTransactionsPerCustomer?: number;
    /** Sequential composition: a customer with n transactions has ε = n·ε per transaction. */
    epsilonPerCustomerMax?: number;
  };
}

const PSEUDONYM_KIND = { 'customer-id': 'customer', 'account-id': 'account', 'transaction-id': 'transaction' } as const;

/**
 * Row-by-row anonymiser. Build it from the input header, feed it split rows, read
 * `outputHeader` first and `report()` at the end.
 */
export class Anonymiser {
  readonly columns: ColumnReport[];
  readonly outputHeader: string[];
  private readonly out: OutColumn[];
  private readonly qi: number[]; // positions in `out`
  private readonly classes = new EquivalenceClasses();
  private readonly customerCounts = new Map<string, number>();
  private readonly customerOut: number; // position in `out` of the customer pseudonym, or -1
  private readonly links: number[]; // positions in `out` of the pseudonyms that link rows
  private readonly people?: PeopleK; // when `links` is not empty
  private readonly txIndex: number; // input index of the transaction id, or -1
  private readonly identityColumns: [string, number][]; // input columns naming a row without an id
  private readonly mechanism: 'laplace' | 'band' | 'none';
  private readonly epsilon: number;
  private readonly clip: number;
  private clippedAmounts = 0;
  private rows = 0;

  constructor(
    header: readonly string[],
    private readonly opts: AnonymiseOptions,
    private readonly file = '<csv>',
  ) {
    checkPseudonymKey(opts.key);
    const mode = opts.amount ?? 'laplace';
    this.epsilon = opts.epsilon ?? 1;
    this.clip = opts.clip ?? 1000;
    if (!(Number.isFinite(this.epsilon) && this.epsilon > 0))
      throw new Error(`epsilon must be a positive number, got ${this.epsilon}`);
    if (!(Number.isFinite(this.clip) && this.clip > 0))
      throw new Error(`amount clipping bound must be a positive number, got ${this.clip}`);
    const bands = opts.bands ?? DEFAULT_BANDS;
    for (let i = 1; i < bands.length; i++)
      if (!(bands[i]! > bands[i - 1]!))
        throw new Error(`band edges must be strictly increasing, got ${bands.join(',')}`);
    const granularity = opts.time ?? 'hour';
    if (
      opts.knownTransactions !== undefined &&
      !(Number.isInteger(opts.knownTransactions) && opts.knownTransactions >= 1)
    )
      throw new Error(`known transactions (m) must be a positive integer, got ${opts.knownTransactions}`);
    const resolved = resolveRoles(header, opts.mapping, file);
    this.txIndex = resolved.find((c) => c.role === 'transaction-id')?.index ?? -1;
    this.identityColumns = resolved
      .filter((c) => c.role !== 'amount')
      .map((c): [string, number] => [c.header, c.index])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.columns = [];
    this.out = [];
    let hasAmount = false;
    for (const c of resolved) {
      const col = this.planColumn(c, mode, bands, granularity);
      this.columns.push(col.report);
      if (col.out) this.out.push(col.out);
      if (c.role === 'amount') hasAmount = true;
    }
    this.mechanism = hasAmount ? mode : 'none';
    this.outputHeader = this.out.map((o) => o.header);
    this.qi = this.out.flatMap((o, i) => (isQuasi(o.role, mode) ? [i] : []));
    this.customerOut = this.out.findIndex((o) => o.role === 'customer-id');
    this.links = this.out.flatMap((o, i) => (o.role === 'customer-id' || o.role === 'account-id' ? [i] : []));
    if (this.links.length)
      this.people = new PeopleK(
        this.links.map((i) => this.out[i]!.header),
        opts.knownTransactions,
      );
  }

  /**
   * What the keyed noise of a row's amount is derived from: its transaction id, or, in a file
   * without one, all its original fields but the amounts, by header (so neither the mapping
   * nor the column order changes the noise: a re-export repeats it).
   */
  private transactionOf(fields: readonly string[]): string {
    const id = this.txIndex >= 0 ? (fields[this.txIndex] ?? '') : '';
    if (id !== '') return `id:${id}`;
    return `row:${JSON.stringify(this.identityColumns.map(([h, i]) => [h, fields[i] ?? '']))}`;
  }

  private planColumn(
    c: ResolvedColumn,
    mode: 'laplace' | 'band',
    bands: readonly number[],
    granularity: TimeGranularity,
  ): { report: ColumnReport; out?: OutColumn } {
    const base = { column: c.header, role: c.role ?? ('unclassified' as const), roleSource: c.source };
    const file = this.file;
    const make = (action: ColumnAction, detail: string, apply?: OutColumn['apply']) => {
      const released = apply !== undefined && c.role !== undefined;
      return {
        report: {
          ...base,
          action,
          ...(released ? { output: c.header } : {}),
          quasiIdentifier: released && isQuasi(c.role!, mode),
          detail,
        },
        ...(released ? { out: { index: c.index, header: c.header, role: c.role!, apply } } : {}),
      };
    };
    switch (c.role) {
      case undefined:
        return make(
          'dropped (unclassified)',
          'role not recognised from the header: dropped; give it a role in the mapping (e.g. "keep") to release it',
        );
      case 'name':
      case 'email':
      case 'phone':
      case 'free-text':
      case 'drop':
        return make('dropped', c.role === 'drop' ? 'dropped by the mapping' : 'direct identifier: dropped');
      case 'customer-id':
      case 'account-id':
      case 'transaction-id': {
        const kind = PSEUDONYM_KIND[c.role];
        const key = this.opts.key;
        return make(
          'pseudonymised',
          `HMAC-SHA-256 keyed pseudonym (${kind}), 128 bits, stable across files with the same key`,
          (v) => (v === '' ? '' : pseudonym(key, kind, v)),
        );
      }
      case 'account-number':
        return make('masked', 'masked to the last four characters', (v) => maskLastFour(v));
      case 'amount': {
        if (mode === 'band')
          return make('banded', `rounded to bands with edges ${bands.join(', ')}`, (v, line) =>
            amountBand(parseAmount(v, file, line, c.header), bands),
          );
        const key = this.opts.key;
        const p = { epsilon: this.epsilon, clip: this.clip };
        return make(
          'laplace',
          `clipped to [0, ${this.clip}], Laplace noise of scale ${this.clip}/${this.epsilon} (ε = ${this.epsilon} per transaction), ` +
            'derived from the key, the transaction and its amount (the same in every export), rounded to cents',
          (v, line, fields) => {
            const amount = parseAmount(v, file, line, c.header);
            const r = keyedNoisyAmount(amount, p, key, { column: c.header, transaction: this.transactionOf(fields) });
            if (r.clipped) this.clippedAmounts++;
            return r.value.toFixed(2);
          },
        );
      }
      case 'timestamp': {
        const unit = timeUnitOf(c.header);
        return make('generalised', `generalised to the ${granularity} (${unit})`, (v, line) => {
          const g = generaliseTime(v, granularity, unit);
          if (g === undefined)
            throw DataError.at(
              file,
              line,
              c.header,
              `cannot read timestamp "${truncate(v)}" (expected YYYY-MM-DD[ HH:MM[:SS]] or a number of ${unit === 'datetime' ? 'seconds' : unit})`,
            );
          return g;
        });
      }
      case 'categorical':
      case 'label':
        return make('kept', 'kept; counted as a quasi-identifier', (v) => v);
      case 'keep':
        return make('kept', 'kept as is by the mapping; not counted as a quasi-identifier', (v) => v);
    }
  }

  /**
   * Transforms one row (split fields, `line` = 1-based file line for errors) into the
   * output fields. Throws DataError for a row with the wrong field count or an unreadable value.
   */
  transform(fields: readonly string[], line: number): string[] {
    const out = new Array<string>(this.out.length);
    for (let i = 0; i < this.out.length; i++) {
      const o = this.out[i]!;
      out[i] = o.apply(fields[o.index] ?? '', line, fields);
    }
    const qi = this.qi.map((i) => out[i]!);
    this.classes.add(qi);
    this.people?.add(
      this.links.map((i) => out[i]!),
      qi,
    );
    if (this.customerOut >= 0) {
      const c = out[this.customerOut]!;
      this.customerCounts.set(c, (this.customerCounts.get(c) ?? 0) + 1);
    }
    this.rows++;
    return out;
  }

  /** The report so far (final after the last row). */
  report(minK?: number): AnonymiseReport {
    const perRow = this.classes.k();
    let maxTx = 0;
    for (const n of this.customerCounts.values()) if (n > maxTx) maxTx = n;
    const eps = this.mechanism === 'laplace' ? this.epsilon : 0;
    const quasi = this.qi.map((i) => this.out[i]!.header);
    const qiText = quasi.join(', ') || 'none';

    let k: number;
    let definition: KDefinition;
    let statement: string;
    let rowsBelow: number | undefined;
    let linkage: AnonymiseReport['linkage'];
    if (!this.people) {
      k = perRow;
      definition = 'rows';
      statement =
        `k = ${k} over rows (k-anonymity, Samarati & Sweeney 1998): ` +
        (k >= 2
          ? `every row shares its quasi-identifiers (${qiText}) with at least ${k - 1} other row${k > 2 ? 's' : ''}`
          : k === 1
            ? `some row's quasi-identifiers (${qiText}) are unique to it`
            : 'no rows') +
        '. No released customer or account pseudonym links rows, so each row stands alone.';
      if (minK !== undefined) rowsBelow = this.classes.rowsBelow(minK);
    } else {
      // Rows linked by a released pseudonym are one person's: k counts people (people-k.ts).
      ({ k, definition, statement, rowsBelow, linkage } = this.people.report(perRow, qiText, minK));
    }
    return {
      rows: this.rows,
      columns: this.columns,
      unclassified: this.columns.filter((c) => c.role === 'unclassified').map((c) => c.column),
      quasiIdentifiers: quasi,
      kAnonymity: k,
      kDefinition: definition,
      kStatement: statement,
      kAnonymityPerRow: perRow,
      equivalenceClasses: this.classes.numClasses,
      ...(minK !== undefined ? { minK, rowsBelowMinK: rowsBelow! } : {}),
      meetsMinK: minK === undefined || k >= minK,
      ...(linkage ? { linkage } : {}),
      privacy: {
        amountMechanism: this.mechanism,
        epsilonPerTransaction: eps,
        ...(this.mechanism === 'laplace'
          ? {
              noise: 'keyed' as const,
              epsilonScope:
                `ε = ${eps} per transaction amount, across any number of exports with this key, ε and clip: the noise is ` +
                'derived from the key, the transaction and its amount, so a re-export repeats it and averaging exports does not remove it. ' +
                'An export with another ε or clip, or of a changed amount, draws new noise: its ε adds up.',
              clip: this.clip,
              amountsClipped: this.clippedAmounts,
            }
          : {}),
        ...(this.customerOut >= 0 ? { maxTransactionsPerCustomer: maxTx, epsilonPerCustomerMax: eps * maxTx } : {}),
      },
    };
  }
}

/**
 * Quasi-identifiers: released columns that are not random-looking pseudonyms but could be
 * joined with outside knowledge: generalised timestamps, categorical columns and the
 * label, amount bands, and the last four characters of masked numbers. Laplace-noised
 * amounts are protected by differential privacy instead and are not counted (a
 * continuous noisy value would make every row its own class).
 */
function isQuasi(role: ColumnRole, mode: 'laplace' | 'band'): boolean {
  return (
    role === 'timestamp' ||
    role === 'categorical' ||
    role === 'label' ||
    role === 'account-number' ||
    (role === 'amount' && mode === 'band')
  );
}

function parseAmount(v: string, file: string, line: number, column: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n))
    throw DataError.at(file, line, column, `amount "${truncate(v)}" is not a number`);
  return n;
}

function truncate(v: string): string {
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}
