/** Per-customer behaviour features for segmentation, and their scaling with merged bank statistics. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CUSTOMER_FEATURES,
  CustomerFeatureAccumulator,
  customerFeaturesFromCsv,
  mergeMomentsChan,
  momentsOf,
  scalePoints,
  scalingOf,
  type Points,
} from '@finsecure/common/kmeans';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-kmfeat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('customer features', () => {
  it('computes mean, total, frequency, night share, weekend share and distinct terminals', () => {
    const acc = new CustomerFeatureAccumulator();
    // 2018-04-01 is a Sunday, 2018-04-02 a Monday.
    acc.add('7', 10, '2018-04-01 03:10:00', 't1'); // night, weekend
    acc.add('7', 30, '2018-04-02 12:00:00', 't2');
    acc.add('7', 20, '2018-04-10 07:00:00', 't1'); // 07:00 is not night (night: 00:00–05:59)
    acc.add('9', 100, '2018-04-07 23:00:00', 't3'); // Saturday
    const { ids, points } = acc.finish(10);
    expect(CUSTOMER_FEATURES).toEqual([
      'mean_amount',
      'total_amount',
      'tx_per_day',
      'night_share',
      'weekend_share',
      'distinct_terminals',
    ]);
    expect(ids).toEqual(['7', '9']);
    expect(Array.from(points.data.subarray(0, 6))).toEqual([20, 60, 0.3, 1 / 3, 1 / 3, 2]);
    expect(Array.from(points.data.subarray(6))).toEqual([100, 100, 0.1, 0, 1, 1]);
    // default period: first to last day seen, inclusive (1st to 10th April)
    expect(acc.finish().points.data[2]).toBeCloseTo(0.3, 12);
    expect(acc.add('7', 1, 'yesterday', 't1')).toBe(false);
  });

  it('reads the handbook layout and names the line of a bad value', async () => {
    const f = path.join(dir, 'hb.csv');
    writeFileSync(
      f,
      'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT\n0,2018-04-01 00:00:31,596,3156,57.16\n1,2018-04-01 00:02:10,4961,3412,81.51\n2,2018-04-01 08:00:00,596,3412,42.84\n',
    );
    const acc = await customerFeaturesFromCsv(f);
    const { ids, points } = acc.finish(1);
    expect(ids).toEqual(['4961', '596']);
    expect(points.data[6]).toBeCloseTo(50, 12);
    expect(points.data[6 + 3]).toBe(0.5);
    writeFileSync(
      f,
      'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT\n0,2018-04-01 00:00:31,596,3156,abc\n',
    );
    await expect(customerFeaturesFromCsv(f)).rejects.toThrow(/hb\.csv:2: column "TX_AMOUNT": not a number: "abc"/);
    writeFileSync(f, 'TRANSACTION_ID,CUSTOMER_ID\n0,1\n');
    await expect(customerFeaturesFromCsv(f)).rejects.toThrow(/missing column\(s\) TERMINAL_ID, TX_AMOUNT, TX_DATETIME/);
  });

  it('refuses the cells Number() would misread: blank or hex amounts, labels other than 0 or 1, impossible dates', async () => {
    const f = path.join(dir, 'strict.csv');
    const head =
      'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n0,2018-04-01 00:00:31,596,3156,50.00,0\n';
    const cases: [string, RegExp][] = [
      ['1,2018-04-01 01:00:00,596,3156,,0', /strict\.csv:3: column "TX_AMOUNT": not a number: an empty value/],
      ['1,2018-04-01 01:00:00,596,3156,0x64,0', /strict\.csv:3: column "TX_AMOUNT": not a number: "0x64"/],
      ['1,2018-04-01 01:00:00,596,3156,10,yes', /strict\.csv:3: column "TX_FRAUD": label must be 0 or 1, got "yes"/],
      ['1,2018-04-01 01:00:00,596,3156,10,2', /strict\.csv:3: column "TX_FRAUD": label must be 0 or 1, got "2"/],
      [
        '1,2018-04-01 01:00:00,596,3156,10,',
        /strict\.csv:3: column "TX_FRAUD": label must be 0 or 1, got an empty value/,
      ],
      ['1,2018-02-30 01:00:00,596,3156,10,0', /strict\.csv:3: column "TX_DATETIME": cannot read "2018-02-30 01:00:00"/],
      ['1,2018-04-01 24:00:00,596,3156,10,0', /strict\.csv:3: column "TX_DATETIME": cannot read/],
      ['1,2018-04-01 01:00:00, ,3156,10,0', /strict\.csv:3: column "CUSTOMER_ID": empty/],
    ];
    for (const [row, error] of cases) {
      writeFileSync(f, `${head}${row}\n`);
      await expect(customerFeaturesFromCsv(f), row).rejects.toThrow(error);
    }
    writeFileSync(f, `${head}1,2018-04-01 01:00:00,596,3156, 1e2 ,1\n`);
    const { points, fraud } = (await customerFeaturesFromCsv(f)).finish(1);
    expect(points.data[0]).toBe(75);
    expect(Array.from(fraud)).toEqual([1]);
  });

  it('global scaling from merged bank moments equals scaling the pooled customers', () => {
    const a: Points = { data: Float64Array.from([1, 10, 2, 20, 3, 30]), n: 3, d: 2 };
    const b: Points = { data: Float64Array.from([4, 40, 5, 50]), n: 2, d: 2 };
    const all: Points = { data: Float64Array.from([...a.data, ...b.data]), n: 5, d: 2 };
    const sa = scalePoints(a, scalingOf(mergeMomentsChan([momentsOf(a), momentsOf(b)])));
    const sall = scalePoints(all, scalingOf(momentsOf(all)));
    for (let i = 0; i < sa.data.length; i++) expect(sa.data[i]).toBeCloseTo(sall.data[i]!, 12);
    // mean 3, population std √2
    expect(sa.data[0]).toBeCloseTo(-2 / Math.SQRT2, 12);
  });

  it('scales a feature whose mean is large against its spread to unit variance (no Σx² cancellation)', () => {
    // 1e8 + {−4.5 … 4.5}: Σx²/n − mean² keeps about one significant digit of the variance here.
    const n = 1000;
    const data = Float64Array.from({ length: n }, (_, i) => 1e8 + ((i % 10) - 4.5));
    const p: Points = { data, n, d: 1 };
    const halves = [
      { data: data.subarray(0, 400), n: 400, d: 1 },
      { data: data.subarray(400), n: 600, d: 1 },
    ];
    const scaled = scalePoints(p, scalingOf(mergeMomentsChan(halves.map(momentsOf))));
    let sumSq = 0;
    for (const v of scaled.data) sumSq += v * v;
    expect(Math.sqrt(sumSq / n)).toBeCloseTo(1, 9);
  });
});
