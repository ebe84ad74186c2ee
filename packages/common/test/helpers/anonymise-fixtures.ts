/**
 * Shared by the anonymisation pipeline tests (anonymise-file, anonymise-people-k,
 * anonymise-noise-exports): the key, a temporary folder, seeded transaction files, and
 * reading the safe copy back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { createRng } from '@finsecure/common/rng';

export const KEY = Buffer.alloc(40, 3);
export const OTHER_KEY = Buffer.alloc(32, 9);

/** A fresh temporary folder, removed after the calling test file. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-anon-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const FIRST = ['Anna', 'Bernd', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Gustav', 'Hana'];
export const LAST = ['Schneider', 'Okafor', 'Lefebvre', 'Ivanov', 'Nakamura', 'Haddad', 'Lindqvist', 'Moreau'];

export interface Originals {
  ids: string[];
  names: string[];
  emails: string[];
  accounts: string[];
  phones: string[];
  memos: string[];
}

/** A transaction file with every kind of identifier; `offset` shifts which customers appear. */
export function makeFile(file: string, rows: number, seed: number, offset = 0): Originals {
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

/**
 * `customers` customers × `perCustomer` transactions over 14 days, 3 amount bands and 3 types
 * (per row, every (day, band, type) is shared by several rows).
 */
export function linkedFile(file: string, customers: number, perCustomer: number, seed: number): string[] {
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

export function readCsv(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

/**
 * The whole-record groups, recomputed independently of the anonymiser: people whose bags
 * (one quasi-identifier tuple a row) are the same multiset, as signature → number of people.
 */
export function recordGroups(bags: Iterable<string[]>): Map<string, number> {
  const groups = new Map<string, number>();
  for (const bag of bags) {
    const sig = bag.sort().join(';');
    groups.set(sig, (groups.get(sig) ?? 0) + 1);
  }
  return groups;
}
