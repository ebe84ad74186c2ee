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
