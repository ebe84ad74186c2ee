/** k-anonymity (kanon): per row over the quasi-identifiers, and over people's linked records (whole-record k, k^m). */
import { describe, expect, it } from 'vitest';
import {
  EquivalenceClasses,
  kAnonymity,
  kmAnonymity,
  LinkedRecords,
  wholeRecordAnonymity,
  type LinkedRecord,
} from '@finsecure/common/anonymise';
import { createRng } from '@finsecure/common/rng';

describe("k over linked records (a released pseudonym links a person's rows)", () => {
  /** Records from [person, tuple] rows. */
  function records(rows: [string, string][]): LinkedRecord[] {
    const l = new LinkedRecords();
    for (const [who, t] of rows) l.add([who], [t]);
    return l.records();
  }

  /** P1 {a,b}, P2 {a,b}, P3 {a,a}, P4 {a}: per row, "a" is in 5 rows and "b" in 2 (k = 2 per row). */
  const fourPeople = records([
    ['P1', 'a'],
    ['P1', 'b'],
    ['P2', 'b'],
    ['P2', 'a'],
    ['P3', 'a'],
    ['P3', 'a'],
    ['P4', 'a'],
  ]);

  it('links rows by any linking column (customer or account), and a row with none is its own record', () => {
    const l = new LinkedRecords();
    l.add(['c1', 'a1'], ['x']);
    l.add(['c2', 'a1'], ['y']); // joint account a1: c1 and c2 are one linked record
    l.add(['', 'a2'], ['x']);
    l.add(['c3', ''], ['x']);
    l.add(['', ''], ['x']);
    l.add(['', ''], ['x']);
    const sizes = l
      .records()
      .map((r) => [...r.values()].reduce((a, b) => a + b, 0))
      .sort();
    expect(sizes).toEqual([1, 1, 1, 1, 2]);
  });

  it('whole-record k: people with the same multiset of tuples form a group', () => {
    const r = fourPeople;
    const w = wholeRecordAnonymity(r);
    expect(w.k).toBe(1);
    expect(w.records).toBe(4);
    expect(w.recordsBelow(2)).toBe(2); // P3, P4
    expect(w.rowsBelow(2)).toBe(3);
    expect(wholeRecordAnonymity(records([])).k).toBe(0);
  });

  it('k^m: any m known transactions (repeats included) are shared by at least k people', () => {
    const r = fourPeople;
    // m = 1: "a" is in 4 people, "b" in 2 → k = 2
    expect(kmAnonymity(r, 1)!.k).toBe(2);
    // m = 2: {a,b} in P1, P2; {a,a} only in P3 → k = 1, P3 is singled out; P4 has one transaction: {a} → 4
    const k2 = kmAnonymity(r, 2)!;
    expect(k2.k).toBe(1);
    expect(k2.recordsBelow(2)).toBe(1);
    expect(k2.rowsBelow(2)).toBe(2);
    // whole-record k is a lower bound for every m
    for (const m of [1, 2, 3]) expect(kmAnonymity(r, m)!.k).toBeGreaterThanOrEqual(wholeRecordAnonymity(r).k);
    // over the counting limit: not counted (the caller falls back to the whole-record k)
    expect(kmAnonymity(r, 2, 3)).toBeUndefined();
    expect(() => kmAnonymity(r, 0)).toThrow(/positive integer/);
  });

  it('k^m equals a brute-force count over every multiset of up to m tuples (random tables)', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 20; trial++) {
      const rows: [string, string][] = [];
      const people = 5 + rng.int(15);
      for (let p = 0; p < people; p++) {
        const n = 1 + rng.int(5);
        for (let j = 0; j < n; j++) rows.push([`P${p}`, 'abcd'[rng.int(4)]!]);
      }
      const recs = records(rows);
      const bags = [...new Set(rows.map((r) => r[0]))].map((p) => rows.filter((r) => r[0] === p).map((r) => r[1]));
      const contains = (bag: string[], q: string[]) =>
        [...new Set(q)].every((t) => bag.filter((x) => x === t).length >= q.filter((x) => x === t).length);
      for (const m of [1, 2, 3]) {
        let k = Infinity;
        // every multiset of size 1..m over the alphabet, with support > 0
        const walk = (q: string[], from: number) => {
          if (q.length) {
            const s = bags.filter((b) => contains(b, q)).length;
            if (s > 0 && s < k) k = s;
          }
          if (q.length === m) return;
          for (let i = from; i < 4; i++) walk([...q, 'abcd'[i]!], i);
        };
        walk([], 0);
        expect(kmAnonymity(recs, m)!.k).toBe(k);
      }
    }
  });
});

describe('k-anonymity', () => {
  it('is the smallest equivalence-class size over the quasi-identifiers', () => {
    const table = [
      ['2018-04-01', 'DE', 'x1'],
      ['2018-04-01', 'DE', 'x2'],
      ['2018-04-01', 'DE', 'x3'],
      ['2018-04-01', 'FR', 'x4'],
      ['2018-04-01', 'FR', 'x5'],
      ['2018-04-02', 'FR', 'x6'],
      ['2018-04-02', 'FR', 'x7'],
    ];
    expect(kAnonymity(table, [0, 1])).toBe(2);
    expect(kAnonymity(table, [1])).toBe(3);
    expect(kAnonymity(table, [])).toBe(7);
    expect(kAnonymity(table, [2])).toBe(1);
    const ec = new EquivalenceClasses();
    for (const r of table) ec.add([r[0]!, r[1]!]);
    expect(ec.numClasses).toBe(3);
    expect(ec.rowsBelow(3)).toBe(4);
    expect(new EquivalenceClasses().k()).toBe(0);
  });
});
