/**
 * Bad transaction files give an error naming the file, the line and the column, never a
 * silent empty result; one account only gives a report that says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accountReportCsv, buildAccountReport, readAccountTable } from '../src/accounts/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-accounts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string, name = `t${n++}.csv`): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const HEADER = 'Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location\n';

describe('bad transaction files', () => {
  it('no account column: names the accepted columns and what was found', async () => {
    const p = file('Timestamp,Amount,Merchant\n2023-01-01 10:00,5,A\n');
    await expect(readAccountTable(p)).rejects.toThrow(
      `${p}:1: no account column: expected CUSTOMER_ID (handbook), account_id (Berka trans.asc) or AccountID (transaction export); found columns: Timestamp, Amount, Merchant`,
    );
  });

  it('negative amount', async () => {
    const p = file(HEADER + '2023-01-01 10:00,T1,A,5,M,p,L\n2023-01-01 11:00,T2,A,-3.5,M,p,L\n');
    await expect(readAccountTable(p)).rejects.toThrow(
      `${p}:3: column "Amount": negative amount -3.5: amounts must be ≥ 0 (the direction belongs in the type column)`,
    );
  });

  it('non-numeric and empty amounts', async () => {
    const p = file(HEADER + '2023-01-01 10:00,T1,A,12abc,M,p,L\n');
    await expect(readAccountTable(p)).rejects.toThrow(`${p}:2: column "Amount": amount is not a number: "12abc"`);
    const q = file(HEADER + '2023-01-01 10:00,T1,A,,M,p,L\n');
    await expect(readAccountTable(q)).rejects.toThrow(
      `${q}:2: column "Amount": amount is not a number: an empty value`,
    );
  });

  it('unparseable dates, with the reason', async () => {
    const p = file(
      HEADER + '2023-01-01 10:00,T1,A,5,M,p,L\n2023-01-01 10:00,T1,A,5,M,p,L\n32-01-2023 10:00,T2,A,5,M,p,L\n',
    );
    await expect(readAccountTable(p)).rejects.toThrow(`${p}:4: column "Timestamp": day 32 does not exist in 2023-01`);
    const q = file(HEADER + 'last tuesday,T1,A,5,M,p,L\n');
    await expect(readAccountTable(q)).rejects.toThrow(
      `${q}:2: column "Timestamp": cannot parse "last tuesday" as a timestamp; expected ISO 8601`,
    );
    const b = file(
      '"trans_id";"account_id";"date";"type";"operation";"amount";"balance";"k_symbol";"bank";"account"\n1;7;931341;"PRIJEM";"VKLAD";700;700;"";"";\n',
      'trans.asc',
    );
    await expect(readAccountTable(b)).rejects.toThrow(`${b}:2: column "date": month 13 is out of range`);
  });

  it('an unknown Berka type, a bad label, an empty account id, ragged rows', async () => {
    const b = file(
      '"trans_id";"account_id";"date";"type";"operation";"amount";"balance";"k_symbol";"bank";"account"\n1;7;930101;"CREDIT";"VKLAD";700;700;"";"";\n',
    );
    await expect(readAccountTable(b)).rejects.toThrow(`${b}:2: column "type": unknown transaction type "CREDIT"`);
    const h = file('TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n2018-04-01 00:00:31,1,2,5,yes\n');
    await expect(readAccountTable(h)).rejects.toThrow(`${h}:2: column "TX_FRAUD": label must be 0 or 1, got "yes"`);
    const e = file(HEADER + '2023-01-01 10:00,T1, ,5,M,p,L\n');
    await expect(readAccountTable(e)).rejects.toThrow(`${e}:2: column "AccountID": empty account id`);
    const r = file(HEADER + '2023-01-01 10:00,T1,A,5,M,p,L,extra\n');
    await expect(readAccountTable(r)).rejects.toThrow(`${r}:2: row has 8 columns, header has 7`);
    // Cut before the amount: named as short, not as an empty amount.
    const c = file(HEADER + '2023-01-01 10:00,T1,A\n');
    await expect(readAccountTable(c)).rejects.toThrow(
      `${c}:2: column "Amount": missing (row has 3 columns, header has 7)`,
    );
  });

  it('an empty file or a header without rows is an error, not an empty report', async () => {
    const p = file('');
    await expect(readAccountTable(p)).rejects.toThrow(`${p}: the file is empty (no header)`);
    const q = file(HEADER);
    await expect(readAccountTable(q)).rejects.toThrow(`${q}: no transactions after the header`);
  });

  it('one account only: the report keeps it, scores nothing and says why', async () => {
    const p = file(HEADER + '2023-01-01 10:00,T1,ONLY,5,M,p,L\n2023-01-02 10:00,T2,ONLY,7,M,p,L\n');
    const report = buildAccountReport(await readAccountTable(p));
    expect(report.rows).toHaveLength(1);
    expect(report.flagged).toBe(0);
    expect(report.notes[0]).toMatch(/^only one account \(ONLY\) in 2 transactions: an anomaly score compares/);
    const csv = accountReportCsv(report);
    expect(csv.split('\n')[0]).toMatch(/^# only one account/);
    expect(csv).toContain('\nONLY,2,12,6,7,1,0,0.5,1,1,2,1,,0,\n');
  });
});
