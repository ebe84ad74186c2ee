/**
 * The k of the anonymisation report when released pseudonyms link rows into people's records:
 * the whole-record k, or k^m with `knownTransactions` (the counting itself is in kanon.ts),
 * and the sentence that says what it means. Rows that no pseudonym links are reported by
 * plan.ts, per row.
 */
import { kmAnonymity, LinkedRecords, wholeRecordAnonymity, type RecordAnonymity } from './kanon.js';

/**
 * What the reported k counts.
 * - 'rows': no released column links rows, so each row is on its own: k is the smallest
 *   class of rows with equal quasi-identifiers (k-anonymity, Samarati & Sweeney 1998).
 * - 'whole-record': rows are linked by a released customer or account pseudonym, so they are
 *   one person's: k is the smallest group of people whose rows have the same multiset of
 *   quasi-identifier tuples (k-anonymity of each person's whole record). Holds against any
 *   knowledge of a person's quasi-identifiers.
 * - 'km': rows linked as above; k^m-anonymity (Terrovitis, Mamoulis & Kalnis, VLDB 2008):
 *   any m of a person's transactions (their tuples) are shared by at least k people.
 */
export type KDefinition = 'rows' | 'whole-record' | 'km';

/** When released pseudonyms link rows into people's records (the report's `linkage`). */
export interface LinkageReport {
  /** The released columns that link rows (customer and account pseudonyms). */
  columns: string[];
  /** People: groups of linked rows (a row with no linking value is one on its own). */
  records: number;
  /** k of whole records ('whole-record'), a lower bound of k^m for every m. */
  wholeRecordK: number;
  /** m of 'km', when asked for. */
  knownTransactions?: number;
  /** k^m, when asked for and counted (undefined: over the counting limit, whole-record k enforced). */
  kmK?: number;
  /** People an adversary narrows to fewer than minK. */
  recordsBelowMinK?: number;
}

/** The k over people, as the report states it. */
export interface PeopleKReport {
  k: number;
  definition: 'whole-record' | 'km';
  statement: string;
  /** The rows of people an adversary narrows to fewer than minK (with minK only). */
  rowsBelow?: number;
  linkage: LinkageReport;
}

/**
 * Links the rows fed to it into people's records and reports their k. Build it only when some
 * released column links rows.
 */
export class PeopleK {
  private readonly linked = new LinkedRecords();
  private rows = 0;
  private cache?: { rows: number; whole: RecordAnonymity; km?: RecordAnonymity | undefined };

  /**
   * @param columns the released columns that link rows (customer and account pseudonyms).
   * @param knownTransactions m of k^m, when asked for (checked by the caller).
   */
  constructor(
    private readonly columns: readonly string[],
    private readonly knownTransactions?: number,
  ) {}

  /** One row: its values in the linking columns ('' = none) and its quasi-identifier values. */
  add(links: readonly string[], values: readonly string[]): void {
    this.linked.add(links, values);
    this.rows++;
  }

  /** The k of linked records (whole-record, and k^m when asked for); recounted only after new rows. */
  private anonymity(): { whole: RecordAnonymity; km?: RecordAnonymity | undefined } {
    if (this.cache?.rows !== this.rows) {
      const records = this.linked.records();
      const m = this.knownTransactions;
      this.cache = {
        rows: this.rows,
        whole: wholeRecordAnonymity(records),
        ...(m !== undefined ? { km: kmAnonymity(records, m) } : {}),
      };
    }
    return this.cache;
  }

  /**
   * The k so far, over people.
   * @param perRow the smallest class of rows with equal quasi-identifiers, as if rows were not linked.
   * @param qiText the quasi-identifier columns, for the statement.
   */
  report(perRow: number, qiText: string, minK?: number): PeopleKReport {
    const lk = this.anonymity();
    const m = this.knownTransactions;
    const columns = [...this.columns];
    const by = `${columns.join(' and ')} link${columns.length > 1 ? '' : 's'} a person's rows`;
    const used = lk.km ?? lk.whole;
    const k = used.k;
    const definition = lk.km ? 'km' : 'whole-record';
    const perRowNote = ` Per row, as if rows were not linked, it would be ${perRow}.`;
    let statement: string;
    if (lk.km)
      statement =
        `k = ${k} over people against an adversary who knows up to ${m} of a person's transactions ` +
        `(k^m-anonymity, Terrovitis et al. 2008, m = ${m}; ${by}): ` +
        (k >= 2
          ? `any ${m} or fewer of a person's transactions, by their quasi-identifiers (${qiText}), are shared by at least ${k} people`
          : k === 1
            ? `some people are singled out by ${m} or fewer of their transactions' quasi-identifiers (${qiText}), and then all their rows are known`
            : 'no rows') +
        `. Against more knowledge, the whole-record k is ${lk.whole.k}.${perRowNote}`;
    else
      statement =
        `k = ${k} over whole records (k-anonymity of each person's whole record; ${by}): ` +
        (k >= 2
          ? `every person shares the quasi-identifiers (${qiText}) of all their transactions with at least ${k - 1} ` +
            `other${k > 2 ? 's' : ''}, so however many of them an adversary knows, at least ${k} people match`
          : k === 1
            ? `some people's quasi-identifiers (${qiText}) over all their transactions are unique to them: ` +
              'an adversary who knows enough of them singles them out, and then all their rows are known'
            : 'no rows') +
        `.${perRowNote}` +
        (m !== undefined
          ? ` k^${m} (an adversary who knows ${m} transactions) was not counted, over the limit of combinations: ` +
            'the whole-record k, a lower bound of it, is enforced instead.'
          : '');
    return {
      k,
      definition,
      statement,
      ...(minK !== undefined ? { rowsBelow: used.rowsBelow(minK) } : {}),
      linkage: {
        columns,
        records: used.records,
        wholeRecordK: lk.whole.k,
        ...(m !== undefined ? { knownTransactions: m, ...(lk.km ? { kmK: lk.km.k } : {}) } : {}),
        ...(minK !== undefined ? { recordsBelowMinK: used.recordsBelow(minK) } : {}),
      },
    };
  }
}
