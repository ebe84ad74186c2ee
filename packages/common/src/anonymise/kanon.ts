/**
 * k-anonymity of a released table (Samarati & Sweeney 1998; Sweeney 2002): rows that agree
 * on every quasi-identifier form an equivalence class; the table is k-anonymous for k =
 * the size of its smallest class. Counted incrementally, one row at a time, so the
 * pipeline can stream: memory is one counter per distinct quasi-identifier tuple.
 */
export class EquivalenceClasses {
  private readonly counts = new Map<string, number>();
  private rows = 0;

  /** Adds one row's quasi-identifier values (already generalised). */
  add(values: readonly string[]): void {
    // \u001f (unit separator) cannot appear in a CSV field we produced from a single line.
    const key = values.join('\u001f');
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.rows++;
  }

  get numRows(): number {
    return this.rows;
  }

  get numClasses(): number {
    return this.counts.size;
  }

  /**
   * The k of the table: its smallest class size. With no quasi-identifier every row is in
   * one class (k = number of rows); an empty table is reported as k = 0.
   */
  k(): number {
    let min = Infinity;
    for (const c of this.counts.values()) if (c < min) min = c;
    return min === Infinity ? 0 : min;
  }

  /** Number of rows in classes smaller than `k` (what would have to be suppressed to reach k). */
  rowsBelow(k: number): number {
    let n = 0;
    for (const c of this.counts.values()) if (c < k) n += c;
    return n;
  }
}

/** k-anonymity of an in-memory table over the given quasi-identifier columns. */
export function kAnonymity(rows: readonly (readonly string[])[], quasiIdentifiers: readonly number[]): number {
  const ec = new EquivalenceClasses();
  for (const r of rows) ec.add(quasiIdentifiers.map((i) => r[i] ?? ''));
  return ec.k();
}

/**
 * A person's record when their rows are linked: the multiset of the (generalised)
 * quasi-identifier tuples of all their rows, as tuple id → number of rows.
 */
export type LinkedRecord = ReadonlyMap<number, number>;

/**
 * Groups rows into the records of the people they belong to. A released customer or account
 * pseudonym is the same on every row of that customer or account, so whoever reads the safe
 * copy knows which rows go together: the unit of re-identification is the person, not the
 * row. Rows are linked when they share a value in any linking column (a customer's accounts,
 * a joint account's customers: connected components, by union-find); a row with no linking
 * value is a record of its own. Memory: one entry per distinct (person, tuple).
 */
export class LinkedRecords {
  private readonly tuples = new Map<string, number>();
  private readonly parent = new Map<string, string>();
  private readonly tuplesOf = new Map<string, Map<number, number>>();
  private readonly unlinked: number[] = [];

  /** One row: its values in the linking columns ('' = none) and its quasi-identifier values. */
  add(links: readonly string[], values: readonly string[]): void {
    const key = values.join('\u001f');
    let id = this.tuples.get(key);
    if (id === undefined) {
      id = this.tuples.size;
      this.tuples.set(key, id);
    }
    let first: string | undefined;
    for (let i = 0; i < links.length; i++) {
      if (links[i] === '') continue;
      const node = `${i}\u001f${links[i]}`; // the column keeps equal values of two columns apart
      if (!this.parent.has(node)) this.parent.set(node, node);
      if (first === undefined) first = node;
      else this.union(first, node);
    }
    if (first === undefined) {
      this.unlinked.push(id);
      return;
    }
    let m = this.tuplesOf.get(first);
    if (!m) this.tuplesOf.set(first, (m = new Map()));
    m.set(id, (m.get(id) ?? 0) + 1);
  }

  private find(x: string): string {
    let p = this.parent.get(x)!;
    while (p !== x) {
      const g = this.parent.get(p)!;
      this.parent.set(x, g); // path halving
      x = g;
      p = this.parent.get(x)!;
    }
    return x;
  }

  private union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }

  /** The records: one per person (connected component), one per unlinked row. */
  records(): LinkedRecord[] {
    const byRoot = new Map<string, Map<number, number>>();
    for (const [node, m] of this.tuplesOf) {
      const root = this.find(node);
      const acc = byRoot.get(root);
      if (!acc) byRoot.set(root, new Map(m));
      else for (const [id, n] of m) acc.set(id, (acc.get(id) ?? 0) + n);
    }
    return [...byRoot.values(), ...this.unlinked.map((id) => new Map([[id, 1]]))];
  }
}

/**
 * For each record, the fewest records an adversary can narrow it down to (under one of the
 * definitions below); k is their minimum. `recordsBelow` / `rowsBelow`: the records (and
 * their rows) an adversary narrows to fewer than `minK`.
 */
export interface RecordAnonymity {
  k: number;
  records: number;
  recordsBelow(minK: number): number;
  rowsBelow(minK: number): number;
}

function anonymityOf(records: readonly LinkedRecord[], narrowest: readonly number[]): RecordAnonymity {
  const sizes = records.map((r) => {
    let n = 0;
    for (const c of r.values()) n += c;
    return n;
  });
  let k = Infinity;
  for (const s of narrowest) if (s < k) k = s;
  return {
    k: k === Infinity ? 0 : k,
    records: records.length,
    recordsBelow: (minK) => narrowest.filter((s) => s < minK).length,
    rowsBelow: (minK) => narrowest.reduce((acc, s, i) => (s < minK ? acc + sizes[i]! : acc), 0),
  };
}

function sortedEntries(r: LinkedRecord): [number, number][] {
  return [...r.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * k-anonymity of whole records: k-anonymity (Sweeney 2002) applied to people rather than
 * rows, each person's quasi-identifier being the multiset of the quasi-identifier tuples of
 * all their rows (so their number of transactions counts too). Records with the same
 * multiset form a group; k is the smallest group. It holds against an adversary who knows
 * any part of a person's quasi-identifiers, however many transactions, and is a lower bound
 * of the k^m below for every m: the strictest, and cheap (one pass, one signature a person).
 */
export function wholeRecordAnonymity(records: readonly LinkedRecord[]): RecordAnonymity {
  const signatures = records.map((r) =>
    sortedEntries(r)
      .map(([id, n]) => `${id}x${n}`)
      .join(','),
  );
  const groups = new Map<string, number>();
  for (const s of signatures) groups.set(s, (groups.get(s) ?? 0) + 1);
  return anonymityOf(
    records,
    signatures.map((s) => groups.get(s)!),
  );
}

/**
 * k^m-anonymity (Terrovitis, Mamoulis & Kalnis, "Privacy-preserving anonymization of
 * set-valued data", VLDB 2008), over multisets: an adversary who knows up to m of a person's
 * transactions (their quasi-identifier tuples, repeats included) finds at least k records
 * that contain them. k is the smallest support (number of records containing it, as a
 * sub-multiset) of any multiset of 1..m tuples that some record contains.
 *
 * Cost: every sub-multiset of up to m tuples of every record is counted, which grows as
 * (transactions per person)^m; above `maxSubsets` the count stops and undefined is returned
 * (the caller falls back to the whole-record k, a lower bound of k^m).
 */
export function kmAnonymity(
  records: readonly LinkedRecord[],
  m: number,
  maxSubsets = 2_000_000,
): RecordAnonymity | undefined {
  if (!(Number.isInteger(m) && m >= 1)) throw new Error(`m (known transactions) must be a positive integer, got ${m}`);
  const entries = records.map(sortedEntries);
  // Each distinct sub-multiset of up to m tuples of one record, once, as "id×n,…".
  const forEachSubset = (e: readonly [number, number][], visit: (key: string) => boolean): boolean => {
    const walk = (from: number, left: number, prefix: string): boolean => {
      for (let i = from; i < e.length; i++) {
        const [id, count] = e[i]!;
        for (let n = 1; n <= Math.min(count, left); n++) {
          const key = `${prefix}${id}x${n},`;
          if (!visit(key)) return false;
          if (left - n > 0 && !walk(i + 1, left - n, key)) return false;
        }
      }
      return true;
    };
    return walk(0, m, '');
  };
  const support = new Map<string, number>();
  let budget = maxSubsets;
  for (const e of entries) {
    const ok = forEachSubset(e, (key) => {
      support.set(key, (support.get(key) ?? 0) + 1);
      return --budget >= 0;
    });
    if (!ok) return undefined;
  }
  const narrowest = entries.map((e) => {
    let min = Infinity;
    forEachSubset(e, (key) => {
      const s = support.get(key)!;
      if (s < min) min = s;
      return true;
    });
    return min === Infinity ? records.length : min;
  });
  return anonymityOf(records, narrowest);
}
