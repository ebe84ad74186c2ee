/** The streaming anonymisation pipeline on real files: nothing identifying survives, stable pseudonyms, refusals. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Anonymiser, anonymiseFile, findOriginals, MinKError, pseudonym } from '@finsecure/common/anonymise';
import { createRng, shuffleInPlace } from '@finsecure/common/rng';

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
    const report = await anonymiseFile({ input, output: out, key: KEY, reportFile });
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
    const groups = new Map<string, number>();
    for (const bag of bags.values()) {
      const sig = bag.sort().join(';');
      groups.set(sig, (groups.get(sig) ?? 0) + 1);
    }
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
    const [a, b, c] = ['a.csv', 'b.csv', 'c.csv'].map((f) => path.join(dir, f));
    await anonymiseFile({ input, output: a!, key: KEY });
    await anonymiseFile({ input: input2, output: b!, key: KEY });
    await anonymiseFile({ input: input2, output: c!, key: OTHER_KEY });
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

/**
 * `customers` customers × `perCustomer` transactions over 14 days, 3 amount bands and 3 types
 * (per row, every (day, band, type) is shared by several rows).
 */
function linkedFile(file: string, customers: number, perCustomer: number, seed: number): string[] {
  const rng = createRng(seed);
  const lines = ['transaction_id,customer_id,timestamp,amount,type,merchant'];
  let t = 0;
  for (let c = 0; c < customers; c++)
    for (let j = 0; j < perCustomer; j++) {
      const day = String(1 + rng.int(14)).padStart(2, '0');
      const amount = (5 + rng.next() ** 2 * 900).toFixed(2);
      lines.push(
        [
          `T${t++}`,
          `CUST${c}`,
          `2018-04-${day} 10:11:12`,
          amount,
          ['pos', 'ecom', 'atm'][rng.int(3)],
          `M${rng.int(40)}`,
        ].join(','),
      );
    }
  writeFileSync(file, lines.join('\n') + '\n');
  return lines;
}

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
    const groups = new Map<string, number>();
    for (const bag of bagsOf(out).values()) {
      const sig = bag.sort().join(';');
      groups.set(sig, (groups.get(sig) ?? 0) + 1);
    }
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
