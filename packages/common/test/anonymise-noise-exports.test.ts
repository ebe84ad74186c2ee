/** The Anonymiser's keyed Laplace noise on amounts: the same released value in every export, so averaging gains nothing. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anonymiser, pseudonym } from '@finsecure/common/anonymise';
import { createRng, shuffleInPlace } from '@finsecure/common/rng';
import { KEY, linkedFile, tempDir } from './helpers/anonymise-fixtures.js';

const dir = tempDir();

describe('Laplace noise on amounts repeats across exports', () => {
  const input = path.join(dir, 'repeat.csv');
  const lines = linkedFile(input, 20, 5, 7);
  const truth = new Map(lines.slice(1).map((l) => [l.split(',')[0]!, Number(l.split(',')[3])]));

  /** transaction pseudonym → released amount, for rows given in any order and with any mapping. */
  function release(
    rows: string[],
    opts: Partial<ConstructorParameters<typeof Anonymiser>[1]> = {},
    header = lines[0]!,
  ) {
    const a = new Anonymiser(header.split(','), { key: KEY, ...opts });
    const ti = a.outputHeader.indexOf('transaction_id');
    const ai = a.outputHeader.indexOf('amount');
    const got = new Map<string, string>();
    rows.forEach((l, i) => {
      const o = a.transform(l.split(','), i + 2);
      got.set(ti >= 0 ? o[ti]! : String(i), o[ai]!);
    });
    return { got, report: a.report() };
  }

  it('the same transaction gets the same noisy amount in every export: other order, other mapping, other time', () => {
    const rows = lines.slice(1);
    const first = release(rows).got;
    const shuffled = [...rows];
    shuffleInPlace(shuffled, createRng(3));
    const again = release(shuffled, { time: 'day', mapping: { columns: { merchant: 'drop', type: 'drop' } } }).got;
    expect(again).toEqual(first);
    const noise = [...first.entries()].map(([p, v]) => {
      const id = [...truth.keys()].find((t) => pseudonym(KEY, 'transaction', t) === p)!;
      return Math.abs(Number(v) - truth.get(id)!);
    });
    expect(noise.reduce((a, b) => a + b, 0) / noise.length).toBeGreaterThan(200); // scale 1000: noised
  });

  it('averaging 200 exports leaves the noise where it was (the reviewer recovered amounts this way)', () => {
    const rows = lines.slice(1, 21);
    const sums = new Map<string, number>();
    for (let r = 0; r < 200; r++) {
      const order = [...rows];
      shuffleInPlace(order, createRng(r));
      for (const [p, v] of release(order).got) sums.set(p, (sums.get(p) ?? 0) + Number(v));
    }
    const one = release(rows).got;
    for (const [p, s] of sums) expect(s / 200).toBeCloseTo(Number(one.get(p)), 6);
  });

  it('without a transaction id the row (all its original fields but the amount) names the transaction', () => {
    const noId = lines.map((l) => l.split(',').slice(1).join(','));
    const header = noId[0]!;
    const a = [...release(noId.slice(1), {}, header).got.values()];
    const b = [...release([...noId.slice(1)].reverse(), { time: 'day' }, header).got.values()].reverse();
    expect(b).toEqual(a);
  });

  it('the report says the noise is keyed and that ε holds across exports', () => {
    const { report } = release(lines.slice(1, 5), { epsilon: 0.5 });
    expect(report.privacy).toMatchObject({ amountMechanism: 'laplace', epsilonPerTransaction: 0.5, noise: 'keyed' });
    expect(report.privacy.epsilonScope).toMatch(/ε = 0.5 per transaction amount, across any number of exports/);
    expect(report.columns.find((c) => c.column === 'amount')!.detail).toMatch(/the same in every export/);
  });
});
