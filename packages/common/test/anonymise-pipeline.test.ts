/** The streaming anonymisation pipeline on real files: nothing identifying survives, stable pseudonyms, refusals. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { anonymiseFile, findOriginals, MinKError, pseudonym } from '@finsecure/common/anonymise';
import { createRng } from '@finsecure/common/rng';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-anon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = Buffer.alloc(40, 3);
const OTHER_KEY = Buffer.alloc(32, 9);

const FIRST = ['Anna', 'Bernd', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Gustav', 'Hana'];
const LAST = ['Schneider', 'Okafor', 'Lefebvre', 'Ivanov', 'Nakamura', 'Haddad', 'Lindqvist', 'Moreau'];

interface Originals {
  ids: string[];
  names: string[];
  emails: string[];
  accounts: string[];
  phones: string[];
  memos: string[];
}

/** A transaction file with every kind of identifier; `offset` shifts which customers appear. */
function makeFile(file: string, rows: number, seed: number, offset = 0): Originals {
  const rng = createRng(seed);
  const o: Originals = { ids: [], names: [], emails: [], accounts: [], phones: [], memos: [] };
  const lines = [
    'customer_id,account_id,transaction_id,Name,E-mail,Phone,IBAN,card_number,Amount,Timestamp,Currency,Memo,loyalty_score',
  ];
  for (let i = 0; i < rows; i++) {
    const c = offset + rng.int(40);
    const cust = `CUST-${(70_000 + c * 37).toString()}`;
    const acct = `ACCT-${(50_000 + c * 13).toString()}-X`;
    const tx = `TXN-${seed}-${(900_000 + i).toString()}`;
    const name = `${FIRST[c % 8]} ${LAST[(c >> 3) % 8]}-${c}`;
    const email = `${FIRST[c % 8]!.toLowerCase()}.${c}@example-bank.test`;
    const phone = `+49 151 ${(5_550_000 + c * 101).toString()}`;
    const iban = `DE${(10 + c).toString()}5001051754073${(10_000 + c * 7).toString()}`;
    const card = `4111 2222 ${(3333 + c).toString()} ${(1000 + c).toString()}`;
    const memo = `"Rent for flat ${c}, thanks ${FIRST[c % 8]}"`;
    const amount = (rng.next() * 400).toFixed(2);
    const ts = `2018-04-0${1 + rng.int(3)} ${String(rng.int(24)).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}:11`;
    lines.push(
      [
        cust,
        acct,
        tx,
        name,
        email,
        phone,
        iban,
        card,
        amount,
        ts,
        rng.int(2) ? 'EUR' : 'USD',
        memo,
        String(rng.int(9)),
      ].join(','),
    );
    o.ids.push(cust, acct, tx);
    o.names.push(name);
    o.emails.push(email);
    o.accounts.push(iban, card, card.replace(/ /g, ''));
    o.phones.push(phone);
    o.memos.push(memo.slice(1, -1));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return o;
}

function readCsv(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

describe('anonymiseFile', () => {
  const input = path.join(dir, 'tx.csv');
  const orig = makeFile(input, 500, 1);

  it('no original id, name, e-mail, phone, account or card number, or memo survives anywhere in the output or report', async () => {
    const out = path.join(dir, 'safe.csv');
    const reportFile = path.join(dir, 'report.json');
    const report = await anonymiseFile({ input, output: out, key: KEY, rng: createRng(1), reportFile });
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
    const r = await anonymiseFile({ input, output: out, key: KEY, rng: createRng(1), epsilon: 0.5, clip: 500 });
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
    // k is recomputed independently from the written file
    const rows = readCsv(out).slice(1);
    const counts = new Map<string, number>();
    for (const row of rows) {
      const key = [row[3], row[4], row[6], row[7]].join('|');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(r.kAnonymity).toBe(Math.min(...counts.values()));
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
      rng: createRng(1),
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
    const [a, b, c] = ['a.csv', 'b.csv', 'c.csv'].map((f) => path.join(dir, f));
    await anonymiseFile({ input, output: a!, key: KEY, rng: createRng(1) });
    await anonymiseFile({ input: input2, output: b!, key: KEY, rng: createRng(2) });
    await anonymiseFile({ input: input2, output: c!, key: OTHER_KEY, rng: createRng(2) });
    const pa = new Set(
      readCsv(a!)
        .slice(1)
        .map((r) => r[0]),
    );
    const pb = new Set(
      readCsv(b!)
        .slice(1)
        .map((r) => r[0]),
    );
    const pc = new Set(
      readCsv(c!)
        .slice(1)
        .map((r) => r[0]),
    );
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
    const err = await anonymiseFile({ input, output: out, key: KEY, rng: createRng(1), minK: 5 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MinKError);
    expect((err as MinKError).message).toMatch(
      /k-anonymity .* is 1, below the required minimum 5.*Nothing was written/,
    );
    expect((err as MinKError).report.meetsMinK).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
    // coarser generalisation meets it
    const ok = await anonymiseFile({
      input,
      output: out,
      key: KEY,
      rng: createRng(1),
      minK: 5,
      time: 'day',
      mapping: { columns: { IBAN: 'drop', card_number: 'drop' } },
    });
    expect(ok.kAnonymity).toBeGreaterThanOrEqual(5);
    expect(existsSync(out)).toBe(true);
  });

  it('bad input: short key, bad value (file, line, column), ragged row, missing mapping column; nothing written', async () => {
    const out = path.join(dir, 'bad.csv');
    await expect(anonymiseFile({ input, output: out, key: Buffer.alloc(16), rng: createRng(1) })).rejects.toThrow(
      /16 bytes, at least 32/,
    );
    const bad = path.join(dir, 'bad-in.csv');
    writeFileSync(bad, 'customer_id,Amount,Timestamp\nC1,12.5,2018-04-01 10:00:00\nC2,twelve,2018-04-01 10:00:00\n');
    await expect(anonymiseFile({ input: bad, output: out, key: KEY, rng: createRng(1) })).rejects.toThrow(
      /bad-in\.csv:3: column "Amount": amount "twelve" is not a number/,
    );
    writeFileSync(bad, 'customer_id,Amount,Timestamp\nC1,12.5,01/04/2018\n');
    await expect(anonymiseFile({ input: bad, output: out, key: KEY, rng: createRng(1) })).rejects.toThrow(
      /bad-in\.csv:2: column "Timestamp": cannot read timestamp/,
    );
    writeFileSync(bad, 'customer_id,Amount\nC1,12.5,x\n');
    await expect(anonymiseFile({ input: bad, output: out, key: KEY, rng: createRng(1) })).rejects.toThrow(
      /bad-in\.csv:2: has 3 fields, the header has 2/,
    );
    await expect(
      anonymiseFile({ input, output: out, key: KEY, rng: createRng(1), mapping: { columns: { Nope: 'keep' } } }),
    ).rejects.toThrow(/mapping names column "Nope"/);
    await expect(anonymiseFile({ input, output: input, key: KEY, rng: createRng(1) })).rejects.toThrow(
      /is the input file/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads gzip input as a stream', async () => {
    const gz = path.join(dir, 'tx.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(input)));
    const r = await anonymiseFile({ input: gz, output: path.join(dir, 'fromgz.csv'), key: KEY, rng: createRng(1) });
    expect(r.rows).toBe(500);
  });
});
