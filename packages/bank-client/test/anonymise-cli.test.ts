/** `finsecure-bank anonymise` as a bank operator runs it (the built CLI in dist/, spawned). */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
let dir: string;
let input: string;
let key: string;
let shortKey: string;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'anonymise', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Anonymises `data` (the shared input unless given) into `out` with the shared key, plus `extra` flags. */
function anonymise(out: string, extra: string[] = [], data = input) {
  return run(['--data', data, '--out', out, '--key-file', key, ...extra]);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-anon-cli-'));
  input = path.join(dir, 'tx.csv');
  const lines = ['CUSTOMER_ID,Name,Email,IBAN,TX_AMOUNT,TX_DATETIME,TX_FRAUD,Zorg_7'];
  for (let i = 0; i < 60; i++)
    lines.push(
      `CUST-${1000 + (i % 6)},Person Number${i % 6},p${i % 6}@mail.test,GB82WEST1234569876${5400 + (i % 6)},${(10 + i).toFixed(2)},2018-04-0${1 + (i % 2)} 1${i % 3}:15:00,${i % 10 === 0 ? 1 : 0},zz`,
    );
  writeFileSync(input, lines.join('\n') + '\n');
  key = path.join(dir, 'key');
  writeFileSync(key, 'a'.repeat(64) + '\n');
  chmodSync(key, 0o600);
  shortKey = path.join(dir, 'short.key');
  writeFileSync(shortKey, '12345678');
  chmodSync(shortKey, 0o600);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finsecure-bank anonymise', () => {
  it('--help explains every flag', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--data',
      '--out',
      '--key-file',
      '--mapping',
      '--amount',
      '--epsilon',
      '--clip',
      '--bands',
      '--time',
      '--min-k',
      '--known-transactions',
      '--report',
      '--reidentify',
    ])
      expect(r.out).toContain(flag);
    expect(r.out).toContain('FINSECURE_ANONYMISE_KEY_FILE');
  });

  describe('a safe copy with a report', () => {
    // one CLI run, shared by the checks on its output
    let out: string;
    let report: string;
    let r: ReturnType<typeof run>;
    beforeAll(() => {
      out = path.join(dir, 'safe.csv');
      report = path.join(dir, 'report.json');
      r = anonymise(out, ['--report', report, '--epsilon', '0.5', '--clip', '200']);
    });

    it('writes a safe copy and a report; no original identifier survives', () => {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/wrote 60 rows/);
      expect(r.out).toMatch(/Zorg_7: dropped \(unclassified\)/);
      const text = readFileSync(out, 'utf8');
      for (const v of ['CUST-100', 'Person', '@mail.test', 'GB82WEST']) expect(text).not.toContain(v);
      expect(text.split('\n')[0]).toBe('CUSTOMER_ID,IBAN,TX_AMOUNT,TX_DATETIME,TX_FRAUD');
      const rep = JSON.parse(readFileSync(report, 'utf8')) as {
        privacy: { epsilonPerTransaction: number };
        unclassified: string[];
      };
      expect(rep.privacy.epsilonPerTransaction).toBe(0.5);
      expect(rep.unclassified).toEqual(['Zorg_7']);
    });

    it('the key holder re-identifies a pseudonym from the original file', () => {
      const pseudo = readFileSync(out, 'utf8').split('\n')[1]!.split(',')[0]!;
      expect(pseudo).toMatch(/^cus_[0-9a-f]{32}$/);
      const r = run(['--data', input, '--key-file', key, '--reidentify', pseudo]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`pseudonym,column,original\n${pseudo},CUSTOMER_ID,CUST-1000\n`);
    });
  });

  it('refuses to write below --min-k (exit 2, nothing written)', () => {
    const out = path.join(dir, 'refused.csv');
    const before = readdirSync(dir).sort();
    const r = anonymise(out, ['--min-k', '20']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/below the required minimum 20.*Nothing was written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
    const coarse = ['--min-k', '5', '--time', 'day', '--amount', 'band'];
    // Per row every (day, band) has at least 5 rows, but the customer pseudonym links each
    // customer's rows, and the 6 customers' records differ: k counts people, and is 1.
    const linked = anonymise(out, [...coarse, '--mapping', mapping({ IBAN: 'drop', TX_FRAUD: 'drop' })]);
    expect(linked.code).toBe(2);
    expect(linked.err).toMatch(/k-anonymity of whole customer records .* is 1, below the required minimum 5/);
    expect(linked.err).toMatch(/per row it would be 5\b.*Nothing was written/);
    expect(existsSync(out)).toBe(false);
    const ok = anonymise(out, [
      ...coarse,
      '--mapping',
      mapping({ IBAN: 'drop', TX_FRAUD: 'drop', CUSTOMER_ID: 'drop' }),
    ]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/k-anonymity 5\b/);
  });

  it.each([
    [['--key-file', 'SHORT'], /key has 8 bytes, at least 32 are needed/],
    [['--amount', 'round'], /--amount must be laplace or band, got "round"/],
    [['--epsilon', '0'], /--epsilon must be a positive number/],
    [['--min-k', '2.5'], /--min-k must be a positive integer/],
    [['--mapping', 'MAPPING_BAD'], /at columns\.IBAN.*role one of/],
    [['--key-file', 'MISSING'], /cannot read --key-file/],
  ])('bad input %j gives a clear error', (extra, message) => {
    const args = extra.map((a) =>
      a === 'SHORT'
        ? shortKey
        : a === 'MAPPING_BAD'
          ? mapping({ IBAN: 'secret' })
          : a === 'MISSING'
            ? path.join(dir, 'nope')
            : a,
    );
    const r = anonymise(path.join(dir, 'bad.csv'), args);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(existsSync(path.join(dir, 'bad.csv'))).toBe(false);
  });

  it('--known-transactions m counts k as k^m over people, and takes only a positive integer', () => {
    const out = path.join(dir, 'km.csv');
    const report = path.join(dir, 'km.json');
    const coarse = ['--time', 'day', '--amount', 'band', '--mapping', mapping({ IBAN: 'drop', TX_FRAUD: 'drop' })];
    const r = anonymise(out, [...coarse, '--known-transactions', '1', '--report', report]);
    expect(r.code, r.err).toBe(0);
    const written = JSON.parse(readFileSync(report, 'utf8')) as { kDefinition: string; kStatement: string };
    expect(written.kDefinition).toBe('km');
    expect(written.kStatement).toMatch(/knows up to 1 of a person's transactions/);
    const bad = anonymise(path.join(dir, 'km-bad.csv'), ['--known-transactions', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--known-transactions must be a positive integer, got "0"/);
  });

  it('a bad row names the file, line and column', () => {
    const bad = path.join(dir, 'bad-in.csv');
    writeFileSync(bad, 'CUSTOMER_ID,TX_AMOUNT\nC1,1.5\nC2,lots\n');
    const r = anonymise(path.join(dir, 'x.csv'), [], bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad-in\.csv:3: column "TX_AMOUNT": amount "lots" is not a number/);
  });

  it('refuses a header-only file and a file with no known column: exit 2, naming the file, nothing written', () => {
    const headerOnly = path.join(dir, 'header-only.csv');
    writeFileSync(headerOnly, 'CUSTOMER_ID,TX_AMOUNT,TX_DATETIME\n');
    const out1 = path.join(dir, 'empty-out.csv');
    let r = anonymise(out1, [], headerOnly);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${headerOnly}:2: no transactions after the header: nothing to anonymise`);
    expect(r.out).not.toMatch(/wrote/);
    expect(existsSync(out1)).toBe(false);

    const unknown = path.join(dir, 'abc.csv');
    writeFileSync(unknown, 'a,b,c\n1,2,3\n');
    const out2 = path.join(dir, 'abc-out.csv');
    r = anonymise(out2, [], unknown);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${unknown}:1: none of the columns (a, b, c) is one the anonymiser knows`);
    expect(r.err).toMatch(/expected columns such as customer_id .*amount/);
    expect(existsSync(out2)).toBe(false);
  });
});

function mapping(columns: Record<string, string>): string {
  const f = path.join(dir, `roles-${Object.keys(columns).join('-')}.json`);
  writeFileSync(f, JSON.stringify({ columns }));
  return f;
}
