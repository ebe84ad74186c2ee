/**
 * Account features from the three layouts (small hand-written fixtures whose expected
 * values are worked out in the comments), timestamp parsing, and the Berka splitter.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTimestamp, readAccountTable, splitSemicolonLine, type AccountTable } from '../src/accounts/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

function byAccount(t: AccountTable): Record<string, Record<string, number>> {
  const d = t.featureNames.length;
  return Object.fromEntries(
    t.accounts.map((a, i) => [a, Object.fromEntries(t.featureNames.map((f, j) => [f, t.features[i * d + j]]))]),
  );
}

describe('timestamps', () => {
  it('parses ISO 8601 and dd-mm-yyyy HH:MM as the written wall clock', () => {
    const day = Date.UTC(2023, 0, 7) / 86_400_000;
    expect(parseTimestamp('2023-01-07T23:30:00Z')).toEqual({ day, secondOfDay: 23 * 3600 + 30 * 60 });
    expect(parseTimestamp('2023-01-07 23:30')).toEqual({ day, secondOfDay: 23 * 3600 + 30 * 60 });
    expect(parseTimestamp('2023-01-07T23:30:00.250+05:30')).toEqual({ day, secondOfDay: 23 * 3600 + 30 * 60 });
    expect(parseTimestamp('07-01-2023 23:30')).toEqual({ day, secondOfDay: 23 * 3600 + 30 * 60 });
    expect(parseTimestamp('07/01/2023')).toEqual({ day, secondOfDay: 0 });
    expect(parseTimestamp('930102', 'berka')).toEqual({ day: Date.UTC(1993, 0, 2) / 86_400_000, secondOfDay: 0 });
  });

  it('says what is wrong with a bad timestamp', () => {
    expect(parseTimestamp('2023-13-01 10:00')).toBe('month 13 is out of range');
    expect(parseTimestamp('31-02-2023 10:00')).toBe('day 31 does not exist in 2023-02');
    expect(parseTimestamp('2023-01-01 24:00')).toBe('hour 24 is out of range');
    expect(parseTimestamp('29-02-2023 10:00')).toBe('day 29 does not exist in 2023-02');
    expect(parseTimestamp('2024-02-29')).toEqual({ day: Date.UTC(2024, 1, 29) / 86_400_000, secondOfDay: 0 });
    expect(parseTimestamp('1900-02-29')).toBe('day 29 does not exist in 1900-02');
    expect(parseTimestamp('yesterday')).toMatch(/cannot parse "yesterday" as a timestamp; expected ISO 8601/);
    expect(parseTimestamp('')).toBe('empty timestamp');
    expect(parseTimestamp('2023-01-01', 'berka')).toBe('"2023-01-01" is not a YYMMDD date');
  });
});

describe('splitSemicolonLine', () => {
  it('splits quoted and unquoted fields, keeps trailing empties', () => {
    const out: string[] = [];
    const n = splitSemicolonLine('695247;2378;930101;"PRIJEM";"a ""b""";700;"";"";', out);
    expect(out.slice(0, n)).toEqual(['695247', '2378', '930101', 'PRIJEM', 'a "b"', '700', '', '', '']);
    expect(splitSemicolonLine('"open;1', out)).toBe(-1);
  });
});

describe('readAccountTable', () => {
  it('handbook layout: CUSTOMER_ID, terminals, night and weekend shares, fraud per customer', async () => {
    const t = await readAccountTable(path.join(fixtures, 'accounts-handbook.csv'));
    expect(t.layout).toBe('handbook');
    expect(t.labelled).toBe(true);
    expect(t.transactions).toBe(4);
    expect(t.featureNames).toEqual([
      'tx_count',
      'amount_total',
      'amount_mean',
      'amount_max',
      'amount_std',
      'night_share',
      'weekend_share',
      'distinct_merchants',
      'active_days',
      'busiest_day_count',
    ]);
    const a = byAccount(t);
    // 596: 57.16 (Sun 00:00:31), 20.00 (Sun 10:15), 30.00 (Mon 14:00, fraud) at terminals 3156, 3156, 42.
    expect(a['596'].tx_count).toBe(3);
    expect(a['596'].amount_total).toBeCloseTo(107.16, 10);
    expect(a['596'].amount_mean).toBeCloseTo(35.72, 10);
    expect(a['596'].amount_max).toBeCloseTo(57.16, 10);
    expect(a['596'].amount_std).toBeCloseTo(Math.sqrt(739.5104 / 3), 10);
    expect(a['596'].night_share).toBeCloseTo(1 / 3, 12);
    expect(a['596'].weekend_share).toBeCloseTo(2 / 3, 12);
    expect(a['596'].distinct_merchants).toBe(2);
    expect(a['596'].active_days).toBe(2);
    expect(a['596'].busiest_day_count).toBe(2);
    // 4961: one transaction at 05:59:59 on a Sunday (still night: 00:00–05:59).
    expect(a['4961']).toMatchObject({
      tx_count: 1,
      amount_std: 0,
      night_share: 1,
      weekend_share: 1,
      busiest_day_count: 1,
    });
    expect(Array.from(t.frauds)).toEqual([1, 0]);
  });

  it('Berka trans.asc: semicolons, quoted header, YYMMDD, empty fields, PRIJEM/VYDAJ/VYBER, balances', async () => {
    const t = await readAccountTable(path.join(fixtures, 'accounts-berka.asc'));
    expect(t.layout).toBe('berka');
    expect(t.labelled).toBe(false);
    expect(t.featureNames).toContain('balance_change');
    expect(t.featureNames).not.toContain('night_share'); // dates only: no time of day
    const a = byAccount(t);
    // 2378: 700 on Fri 930101, 200 and 100 on Sat 930102; balance 700 → 400, opening 700 − 700 = 0.
    expect(a['2378']).toMatchObject({
      tx_count: 3,
      amount_total: 1000,
      amount_max: 700,
      active_days: 2,
      busiest_day_count: 2,
    });
    expect(a['2378'].weekend_share).toBeCloseTo(2 / 3, 12);
    expect(a['2378'].distinct_merchants).toBe(1); // AB/12345678; empty bank;account is no counterparty
    expect(a['2378'].balance_change).toBe(400);
    expect(a['2378'].amount_std).toBeCloseTo(Math.sqrt(206666.6666666667 / 3), 8);
    // 576: Sat, Sat, Sun; rows interleaved with 2378's in the file.
    expect(a['576']).toMatchObject({
      tx_count: 3,
      amount_total: 970.5,
      weekend_share: 1,
      active_days: 3,
      busiest_day_count: 1,
    });
    expect(a['576'].balance_change).toBe(869.5);
  });

  it('plain export: AccountID, ISO and dd-mm-yyyy timestamps mixed, merchants and locations', async () => {
    const t = await readAccountTable(path.join(fixtures, 'accounts-export.csv'));
    expect(t.layout).toBe('export');
    const a = byAccount(t);
    // AC1: Sat 23:30, Sat 23:45, Mon 02:10 → night 1/3, weekend 2/3; Shop A, Shop B; Paris, Lyon.
    expect(a.AC1).toMatchObject({ tx_count: 3, amount_total: 45, amount_mean: 15, amount_max: 25 });
    expect(a.AC1.amount_std).toBeCloseTo(Math.sqrt(200 / 3), 12);
    expect(a.AC1.night_share).toBeCloseTo(1 / 3, 12);
    expect(a.AC1.weekend_share).toBeCloseTo(2 / 3, 12);
    expect(a.AC1).toMatchObject({ distinct_merchants: 2, distinct_locations: 2, active_days: 2, busiest_day_count: 2 });
    expect(a.AC2).toMatchObject({
      tx_count: 2,
      amount_std: 100,
      night_share: 0,
      weekend_share: 0,
      distinct_locations: 1,
    });
  });

  it('takes the layout from the caller when given', async () => {
    await expect(readAccountTable(path.join(fixtures, 'accounts-export.csv'), { layout: 'berka' })).rejects.toThrow(
      /berka layout: account column "account_id" not found/,
    );
  });
});
