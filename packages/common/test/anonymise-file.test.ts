/** The streaming anonymisation pipeline on real files: nothing identifying survives, stable pseudonyms, refusals. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { anonymiseFile, findOriginals, MinKError, pseudonym, type AnonymiseReport } from '@finsecure/common/anonymise';
import { FIRST, KEY, LAST, makeFile, OTHER_KEY, readCsv, recordGroups, tempDir } from './helpers/anonymise-fixtures.js';

const dir = tempDir();

describe('anonymiseFile', () => {
  const input = path.join(dir, 'tx.csv');
  const orig = makeFile(input, 500, 1);

  /** One run with the defaults and a report file, shared by the tests that only read its output. */
  const safe = path.join(dir, 'safe.csv');
  const safeReport = path.join(dir, 'report.json');
  let report: AnonymiseReport;
  beforeAll(async () => {
    report = await anonymiseFile({ input, output: safe, key: KEY, reportFile: safeReport });
  });

  it('no original id, name, e-mail, phone, account or card number, or memo survives anywhere in the output or report', () => {
    const [out, reportFile] = [safe, safeReport];
    const text = readFileSync(out, 'utf8') + readFileSync(reportFile, 'utf8');
    const all = [...orig.ids, ...orig.names, ...orig.emails, ...orig.accounts, ...orig.phones, ...orig.memos];
    expect(all.length).toBeGreaterThan(4000);
    const survivors = [...new Set(all)].filter((v) => text.includes(v));
    expect(survivors).toEqual([]);
    // and the parts of names too (first names, surnames) are gone
    for (const n of [...FIRST, ...LAST]) expect(text).not.toContain(n);
    expect(readCsv(out)[0]).toEqual([
      'customer_id',
      'account_id',
      'transaction_id',
      'IBAN',
      'card_number',
      'Amount',
      'Timestamp',
      'Currency',
    ]);
    expect(report.rows).toBe(500);
  });

  it('reports what was done to each column, the ε spent and the k-anonymity; an unclassified column is reported and dropped', async () => {
    const out = path.join(dir, 'safe2.csv');
    const r = await anonymiseFile({ input, output: out, key: KEY, epsilon: 0.5, clip: 500 });
    const action = Object.fromEntries(r.columns.map((c) => [c.column, c.action]));
    expect(action).toEqual({
      customer_id: 'pseudonymised',
      account_id: 'pseudonymised',
      transaction_id: 'pseudonymised',
      Name: 'dropped',
      'E-mail': 'dropped',
      Phone: 'dropped',
      IBAN: 'masked',
      card_number: 'masked',
      Amount: 'laplace',
      Timestamp: 'generalised',
      Currency: 'kept',
      Memo: 'dropped',
      loyalty_score: 'dropped (unclassified)',
    });
    expect(r.unclassified).toEqual(['loyalty_score']);
    expect(readCsv(out)[0]).not.toContain('loyalty_score');
    expect(r.quasiIdentifiers).toEqual(['IBAN', 'card_number', 'Timestamp', 'Currency']);
    expect(r.privacy.epsilonPerTransaction).toBe(0.5);
    expect(r.privacy.clip).toBe(500);
    expect(r.privacy.epsilonPerCustomerMax).toBe(0.5 * r.privacy.maxTransactionsPerCustomer!);
    // k is recomputed independently from the written file: per row, and over people (the
    // customer and account pseudonyms link rows; here each account is one customer's)
    const rows = readCsv(out).slice(1);
    const counts = new Map<string, number>();
    const bags = new Map<string, string[]>();
    for (const row of rows) {
      const key = [row[3], row[4], row[6], row[7]].join('|');
      counts.set(key, (counts.get(key) ?? 0) + 1);
      bags.set(row[0]!, [...(bags.get(row[0]!) ?? []), key]);
    }
    expect(r.kAnonymityPerRow).toBe(Math.min(...counts.values()));
    const groups = recordGroups(bags.values());
    expect(r.kDefinition).toBe('whole-record');
    expect(r.kAnonymity).toBe(Math.min(...groups.values()));
    expect(r.linkage).toMatchObject({ columns: ['customer_id', 'account_id'], records: bags.size });
    // the noised amounts are not the originals
    const origAmounts = readCsv(input)
      .slice(1)
      .map((row) => row[8]);
    expect(rows.filter((row, i) => row[5] === origAmounts[i]).length).toBeLessThan(5);
  });

  it('a mapping can keep an unclassified column or drop a recognised one', async () => {
    const out = path.join(dir, 'safe3.csv');
    const r = await anonymiseFile({
      input,
      output: out,
      key: KEY,
      mapping: { columns: { loyalty_score: 'keep', IBAN: 'drop', card_number: 'drop' } },
      amount: 'band',
      time: 'day',
    });
    expect(readCsv(out)[0]).toEqual([
      'customer_id',
      'account_id',
      'transaction_id',
      'Amount',
      'Timestamp',
      'Currency',
      'loyalty_score',
    ]);
    expect(r.unclassified).toEqual([]);
    expect(r.privacy.epsilonPerTransaction).toBe(0);
    expect(r.quasiIdentifiers).toEqual(['Amount', 'Timestamp', 'Currency']);
    expect(readCsv(out)[1]![4]).toMatch(/^2018-04-0[123]$/);
    expect(readCsv(out)[1]![3]).toMatch(/^\d+-\d+$/);
  });

  it('pseudonyms are stable across two files with the same key and differ with another key', async () => {
    const input2 = path.join(dir, 'tx2.csv');
    makeFile(input2, 300, 2);
    // the first file is the shared run's safe copy (the same key, the defaults)
    const [a, b, c] = [safe, path.join(dir, 'b.csv'), path.join(dir, 'c.csv')];
    await anonymiseFile({ input: input2, output: b, key: KEY });
    await anonymiseFile({ input: input2, output: c, key: OTHER_KEY });
    const customers = (file: string) =>
      new Set(
        readCsv(file)
          .slice(1)
          .map((r) => r[0]),
      );
    const [pa, pb, pc] = [customers(a), customers(b), customers(c)];
    const shared = [...pb].filter((p) => pa.has(p));
    expect(shared.length).toBeGreaterThan(30); // the same 40 customers appear in both files
    expect(pb.has(pseudonym(KEY, 'customer', 'CUST-70000'))).toBe(true);
    expect([...pc].filter((p) => pa.has(p) || pb.has(p))).toEqual([]);
  });

  it('the key holder re-identifies pseudonyms from the original file', async () => {
    const wanted = [pseudonym(KEY, 'customer', 'CUST-70037'), pseudonym(KEY, 'account', 'ACCT-50013-X'), 'cus_nothere'];
    const found = await findOriginals(input, KEY, wanted);
    expect(found).toEqual([
      { pseudonym: wanted[0], column: 'customer_id', original: 'CUST-70037' },
      { pseudonym: wanted[1], column: 'account_id', original: 'ACCT-50013-X' },
    ]);
    expect(await findOriginals(input, OTHER_KEY, wanted.slice(0, 2))).toEqual([]);
  });

  it('refuses to write below the minimum k: no output, no temporary file', async () => {
    const out = path.join(dir, 'refused.csv');
    const before = readdirSync(dir).length;
    const err = await anonymiseFile({ input, output: out, key: KEY, minK: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MinKError);
    expect((err as MinKError).message).toMatch(
      /k-anonymity .* is 1, below the required minimum 5.*Nothing was written/,
    );
    expect((err as MinKError).report.meetsMinK).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
    expect((err as MinKError).message).toMatch(
      /pseudonyms \(customer_id, account_id\) link each person's rows, so k counts people/,
    );
    // coarser generalisation and unlinked rows (no customer or account pseudonym) meet it
    const ok = await anonymiseFile({
      input,
      output: out,
      key: KEY,
      minK: 5,
      time: 'day',
      mapping: { columns: { IBAN: 'drop', card_number: 'drop', customer_id: 'drop', account_id: 'drop' } },
    });
    expect(ok.kDefinition).toBe('rows');
    expect(ok.kAnonymity).toBeGreaterThanOrEqual(5);
    expect(existsSync(out)).toBe(true);
  });

  it('bad input: short key, bad value (file, line, column), ragged row, missing mapping column; nothing written', async () => {
    const out = path.join(dir, 'bad.csv');
    await expect(anonymiseFile({ input, output: out, key: Buffer.alloc(16) })).rejects.toThrow(/16 bytes, at least 32/);
    const bad = path.join(dir, 'bad-in.csv');
    writeFileSync(bad, 'customer_id,Amount,Timestamp\nC1,12.5,2018-04-01 10:00:00\nC2,twelve,2018-04-01 10:00:00\n');
    await expect(anonymiseFile({ input: bad, output: out, key: KEY })).rejects.toThrow(
      /bad-in\.csv:3: column "Amount": amount "twelve" is not a number/,
    );
    writeFileSync(bad, 'customer_id,Amount,Timestamp\nC1,12.5,01/04/2018\n');
    await expect(anonymiseFile({ input: bad, output: out, key: KEY })).rejects.toThrow(
      /bad-in\.csv:2: column "Timestamp": cannot read timestamp/,
    );
    writeFileSync(bad, 'customer_id,Amount\nC1,12.5,x\n');
    await expect(anonymiseFile({ input: bad, output: out, key: KEY })).rejects.toThrow(
      /bad-in\.csv:2: has 3 fields, the header has 2/,
    );
    await expect(
      anonymiseFile({ input, output: out, key: KEY, mapping: { columns: { Nope: 'keep' } } }),
    ).rejects.toThrow(/mapping names column "Nope"/);
    await expect(anonymiseFile({ input, output: input, key: KEY })).rejects.toThrow(/is the input file/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads gzip input as a stream', async () => {
    const gz = path.join(dir, 'tx.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(input)));
    const r = await anonymiseFile({ input: gz, output: path.join(dir, 'fromgz.csv'), key: KEY });
    expect(r.rows).toBe(500);
  });
});
