/** The reported k when a released customer pseudonym links rows into people's records (people-k). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anonymiseFile, MinKError } from '@finsecure/common/anonymise';
import { KEY, linkedFile, readCsv, recordGroups, tempDir } from './helpers/anonymise-fixtures.js';

const dir = tempDir();

describe('k when a customer pseudonym links rows (k counts people, not rows)', () => {
  const input = path.join(dir, 'linked.csv');
  linkedFile(input, 300, 10, 4);
  const settings = { key: KEY, amount: 'band' as const, bands: [0, 100, 500, 1000], time: 'day' as const };
  const mapping = { columns: { merchant: 'drop' as const } };

  /** The safe copy's rows as (customer pseudonym, "day|band|type"). */
  function bagsOf(out: string): Map<string, string[]> {
    const bags = new Map<string, string[]>();
    for (const r of readCsv(out).slice(1)) bags.set(r[1]!, [...(bags.get(r[1]!) ?? []), `${r[2]}|${r[3]}|${r[4]}`]);
    return bags;
  }

  it('refuses min k 2 although every row shares its (day, band, type) with others: people are singled out', async () => {
    const out = path.join(dir, 'linked-refused.csv');
    const err = await anonymiseFile({ ...settings, input, output: out, mapping, minK: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MinKError);
    const r = (err as MinKError).report;
    expect(r.kAnonymityPerRow).toBeGreaterThanOrEqual(2); // what used to be reported, and accepted
    expect(r.kDefinition).toBe('whole-record');
    expect(r.kAnonymity).toBe(1);
    expect(r.linkage).toMatchObject({ columns: ['customer_id'], records: 300 });
    expect((err as MinKError).message).toMatch(
      /k-anonymity of whole customer records .* is 1, below the required minimum 2: \d+ of 300 people .*customer_id.*Nothing was written/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('reports the whole-record k, recomputed from the safe copy, and what it means', async () => {
    const out = path.join(dir, 'linked.out.csv');
    const r = await anonymiseFile({ ...settings, input, output: out, mapping });
    const groups = recordGroups(bagsOf(out).values());
    expect(r.kAnonymity).toBe(Math.min(...groups.values()));
    expect(r.linkage!.wholeRecordK).toBe(r.kAnonymity);
    expect(r.kStatement).toMatch(/over whole records .*customer_id links a person's rows/);
  });

  it("with knownTransactions m: k^m, as an attacker knowing 2 of a customer's transactions finds it", async () => {
    const out = path.join(dir, 'linked-km.csv');
    const r = await anonymiseFile({ ...settings, input, output: out, mapping, knownTransactions: 2 });
    // the attack: for each customer, the fewest customers any 1 or 2 of its transactions match
    const bags = [...bagsOf(out).values()];
    const counts = bags.map((bag) => {
      const c = new Map<string, number>();
      for (const t of bag) c.set(t, (c.get(t) ?? 0) + 1);
      return c;
    });
    const has = (c: Map<string, number>, q: string[]) =>
      q.every((t) => (c.get(t) ?? 0) >= q.filter((x) => x === t).length);
    const narrowest = bags.map((bag) => {
      let min = Infinity;
      for (let i = 0; i < bag.length; i++)
        for (let j = i; j < bag.length; j++) {
          const q = i === j ? [bag[i]!] : [bag[i]!, bag[j]!];
          min = Math.min(min, counts.filter((c) => has(c, q)).length);
        }
      return min;
    });
    const singledOut = narrowest.filter((n) => n < 2).length;
    expect(singledOut).toBeGreaterThan(100); // the reviewer's attack: most customers
    expect(r.kDefinition).toBe('km');
    expect(r.kAnonymity).toBe(Math.min(...narrowest));
    expect(r.linkage).toMatchObject({ knownTransactions: 2, kmK: r.kAnonymity });
    const err = await anonymiseFile({
      ...settings,
      input,
      output: path.join(dir, 'linked-km-refused.csv'),
      mapping,
      knownTransactions: 2,
      minK: 2,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MinKError);
    expect((err as MinKError).report.linkage).toMatchObject({ recordsBelowMinK: singledOut });
    expect((err as MinKError).message).toMatch(/k\^2-anonymity over people .* is 1, below the required minimum 2/);
    // one known transaction narrows no customer below the per-customer k^1
    const k1 = await anonymiseFile({ ...settings, input, output: out, mapping, knownTransactions: 1 });
    expect(k1.kAnonymity).toBeGreaterThanOrEqual(r.kAnonymity);
    expect(k1.kAnonymity).toBeLessThanOrEqual(k1.kAnonymityPerRow);
  });

  it('without the customer pseudonym, rows are unlinked and k is per row', async () => {
    const out = path.join(dir, 'linked-dropped.csv');
    const r = await anonymiseFile({
      ...settings,
      input,
      output: out,
      mapping: { columns: { merchant: 'drop', customer_id: 'drop' } },
      minK: 2,
    });
    expect(r.kDefinition).toBe('rows');
    expect(r.kAnonymity).toBe(r.kAnonymityPerRow);
    expect(r.kAnonymity).toBeGreaterThanOrEqual(2);
    expect(r.linkage).toBeUndefined();
  });
});
