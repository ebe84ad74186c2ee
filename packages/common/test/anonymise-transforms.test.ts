/** The per-value transformations of the anonymisation pipeline and the k-anonymity count. */
import { describe, expect, it } from 'vitest';
import {
  amountBand,
  checkPseudonymKey,
  EquivalenceClasses,
  generaliseTime,
  guessRole,
  hmacRng,
  kAnonymity,
  keyedNoisyAmount,
  kmAnonymity,
  laplace,
  LinkedRecords,
  maskLastFour,
  noisyAmount,
  parseAnonymiseMapping,
  pseudonym,
  resolveRoles,
  wholeRecordAnonymity,
  type LinkedRecord,
} from '@finsecure/common/anonymise';
import { createRng } from '@finsecure/common/rng';

const KEY = Buffer.alloc(32, 7);
const KEY2 = Buffer.alloc(32, 8);

describe('column roles from header names', () => {
  it.each([
    ['Name', 'name'],
    ['customer_name', 'name'],
    ['E-mail', 'email'],
    ['email_address', 'email'],
    ['Phone', 'phone'],
    ['mobile_number', 'phone'],
    ['Memo', 'free-text'],
    ['description', 'free-text'],
    ['IBAN', 'account-number'],
    ['card_number', 'account-number'],
    ['Account Number', 'account-number'],
    ['CUSTOMER_ID', 'customer-id'],
    ['client_id', 'customer-id'],
    ['account_id', 'account-id'],
    ['TRANSACTION_ID', 'transaction-id'],
    ['TX_AMOUNT', 'amount'],
    ['Amount', 'amount'],
    ['TX_DATETIME', 'timestamp'],
    ['Time', 'timestamp'],
    ['TX_FRAUD', 'label'],
    ['Class', 'label'],
    ['currency', 'categorical'],
    ['MCC', 'categorical'],
  ])('%s → %s', (header, role) => {
    expect(guessRole(header)).toBe(role);
  });

  it('does not guess unknown or engineered columns', () => {
    for (const h of ['V1', 'TERMINAL_ID_RISK_7DAY_WINDOW', 'zorg', '']) expect(guessRole(h)).toBeUndefined();
  });

  it('the mapping overrides guesses and must name existing columns', () => {
    const m = parseAnonymiseMapping({ columns: { V1: 'keep', Amount: 'drop' } }, 'roles.json');
    const r = resolveRoles(['V1', 'Amount', 'zorg'], m);
    expect(r.map((c) => [c.role, c.source])).toEqual([
      ['keep', 'mapping'],
      ['drop', 'mapping'],
      [undefined, 'none'],
    ]);
    expect(() => resolveRoles(['V2'], m, 'in.csv')).toThrow(/mapping names column "V1", which in.csv does not have/);
    expect(() => parseAnonymiseMapping({ columns: { V1: 'secret' } }, 'roles.json')).toThrow(
      /roles\.json at columns\.V1/,
    );
    expect(() => resolveRoles(['a', 'a'], undefined, 'in.csv')).toThrow(/in.csv:1: column "a" appears twice/);
  });
});

describe('keyed pseudonyms', () => {
  it('are stable for a key, differ with another key and between id kinds', () => {
    const a = pseudonym(KEY, 'customer', 'C-1001');
    expect(a).toMatch(/^cus_[0-9a-f]{32}$/);
    expect(pseudonym(KEY, 'customer', 'C-1001')).toBe(a);
    expect(pseudonym(KEY2, 'customer', 'C-1001')).not.toBe(a);
    expect(pseudonym(KEY, 'account', 'C-1001').slice(4)).not.toBe(a.slice(4));
    expect(pseudonym(KEY, 'customer', 'C-1002')).not.toBe(a);
  });

  it('refuse a key shorter than 32 bytes', () => {
    expect(() => checkPseudonymKey(Buffer.alloc(31), 'key.bin')).toThrow(/key.bin: .* 31 bytes, at least 32/);
    expect(() => checkPseudonymKey(Buffer.alloc(32))).not.toThrow();
  });
});

describe('masking, bands and time generalisation', () => {
  it('masks account and card numbers to the last four characters', () => {
    expect(maskLastFour('DE89 3704 0044 0532 0130 00')).toBe('****3000');
    expect(maskLastFour('4111-1111-1111-1234')).toBe('****1234');
    expect(maskLastFour('123')).toBe('***');
    expect(maskLastFour('')).toBe('');
  });

  it('rounds amounts to bands', () => {
    expect(amountBand(0)).toBe('0-10');
    expect(amountBand(57.16)).toBe('50-100');
    expect(amountBand(100)).toBe('100-200');
    expect(amountBand(12000)).toBe('5000+');
    expect(amountBand(-3)).toBe('<0');
    expect(amountBand(7, [0, 5, 10])).toBe('5-10');
  });

  it('generalises timestamps to the hour or the day', () => {
    expect(generaliseTime('2018-04-01 13:47:10', 'hour')).toBe('2018-04-01 13:00');
    expect(generaliseTime('2018-04-01T13:47:10.123Z', 'day')).toBe('2018-04-01');
    expect(generaliseTime('2018-04-01', 'hour')).toBe('2018-04-01');
    expect(generaliseTime('7300.5', 'hour', 'seconds')).toBe('7200');
    expect(generaliseTime('90000', 'day', 'seconds')).toBe('86400');
    expect(generaliseTime('12', 'hour', 'days')).toBe('12');
    expect(generaliseTime('01/04/2018', 'hour')).toBeUndefined();
    expect(generaliseTime('x', 'hour', 'seconds')).toBeUndefined();
  });
});

describe('Laplace noise on amounts', () => {
  it('has the stated scale b = C/ε (empirical, seeded): E|X| = b, Var X = 2b²', () => {
    const rng = createRng(42);
    const b = 1000 / 0.5;
    const n = 200_000;
    let abs = 0;
    let sq = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const x = laplace(b, rng);
      abs += Math.abs(x);
      sq += x * x;
      sum += x;
    }
    expect(abs / n / b).toBeGreaterThan(0.99);
    expect(abs / n / b).toBeLessThan(1.01);
    expect(sq / n / (2 * b * b)).toBeGreaterThan(0.97);
    expect(sq / n / (2 * b * b)).toBeLessThan(1.03);
    expect(Math.abs(sum / n)).toBeLessThan(0.02 * b);
  });

  it('clips to [0, C] before adding noise and rounds to cents', () => {
    const p = { epsilon: 1e9, clip: 100 }; // tiny noise: the clipped value shows
    expect(noisyAmount(250, p, createRng(1))).toEqual({ value: 100, clipped: true });
    expect(noisyAmount(-5, p, createRng(1))).toEqual({ value: 0, clipped: true });
    const r = noisyAmount(57.16, { epsilon: 1, clip: 100 }, createRng(1));
    expect(r.clipped).toBe(false);
    expect(Math.round(r.value * 100) / 100).toBe(r.value);
    expect(r.value).not.toBe(57.16);
  });
});

describe('keyed Laplace noise (repeats across exports)', () => {
  const p = { epsilon: 0.5, clip: 1000 };
  const t = { column: 'amount', transaction: 'id:T1' };

  it('is the same for the same key, parameters, transaction and amount, and differs when any of them changes', () => {
    const a = keyedNoisyAmount(57.16, p, KEY, t);
    expect(keyedNoisyAmount(57.16, p, KEY, t)).toEqual(a);
    expect(Math.round(a.value * 100) / 100).toBe(a.value);
    const others = [
      keyedNoisyAmount(57.16, p, KEY2, t),
      keyedNoisyAmount(57.16, p, KEY, { ...t, transaction: 'id:T2' }),
      keyedNoisyAmount(57.16, p, KEY, { ...t, column: 'fee' }),
      keyedNoisyAmount(57.17, p, KEY, t),
      // another ε or clip: fresh noise (the same uniform under two scales would give the amount away)
      keyedNoisyAmount(57.16, { ...p, epsilon: 1 }, KEY, t),
      keyedNoisyAmount(57.16, { ...p, clip: 500 }, KEY, t),
    ].map((r) => r.value - 57.16);
    const noise = a.value - 57.16;
    for (const o of others) expect(o).not.toBeCloseTo(noise, 2);
    // two scales, one uniform: (b2·v1 − b1·v2)/(b2 − b1) would be the amount; here it is not
    const v2 = keyedNoisyAmount(57.16, { ...p, epsilon: 1 }, KEY, t).value;
    expect(Math.abs((2000 * v2 - 1000 * a.value) / (2000 - 1000) - 57.16)).toBeGreaterThan(1);
  });

  it('averaging repeated releases of a transaction does not remove it: they are all the same value', () => {
    const one = keyedNoisyAmount(120, p, KEY, t).value;
    let sum = 0;
    for (let i = 0; i < 500; i++) sum += keyedNoisyAmount(120, p, KEY, t).value;
    expect(sum / 500).toBeCloseTo(one, 6);
  });

  it('has the stated scale b = C/ε over many transactions: E|X| = b, Var X = 2b², mean 0', () => {
    const b = p.clip / p.epsilon;
    const n = 100_000;
    let abs = 0;
    let sq = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const x = keyedNoisyAmount(500, p, KEY, { column: 'amount', transaction: `id:T${i}` }).value - 500;
      abs += Math.abs(x);
      sq += x * x;
      sum += x;
    }
    expect(abs / n / b).toBeGreaterThan(0.98);
    expect(abs / n / b).toBeLessThan(1.02);
    expect(sq / n / (2 * b * b)).toBeGreaterThan(0.95);
    expect(sq / n / (2 * b * b)).toBeLessThan(1.05);
    expect(Math.abs(sum / n)).toBeLessThan(0.03 * b);
  });

  it('hmacRng is a deterministic uniform stream, separated by its parts', () => {
    const a = hmacRng(KEY, ['x', 'y']);
    const b = hmacRng(KEY, ['x', 'y']);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(hmacRng(KEY, ['xy']).next()).not.toBe(xs[0]); // length-prefixed: ['x','y'] ≠ ['xy']
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
  });
});

describe("k over linked records (a released pseudonym links a person's rows)", () => {
  /** Records from [person, tuple] rows. */
  function records(rows: [string, string][]): LinkedRecord[] {
    const l = new LinkedRecords();
    for (const [who, t] of rows) l.add([who], [t]);
    return l.records();
  }

  it('links rows by any linking column (customer or account), and a row with none is its own record', () => {
    const l = new LinkedRecords();
    l.add(['c1', 'a1'], ['x']);
    l.add(['c2', 'a1'], ['y']); // joint account a1: c1 and c2 are one linked record
    l.add(['', 'a2'], ['x']);
    l.add(['c3', ''], ['x']);
    l.add(['', ''], ['x']);
    l.add(['', ''], ['x']);
    const sizes = l
      .records()
      .map((r) => [...r.values()].reduce((a, b) => a + b, 0))
      .sort();
    expect(sizes).toEqual([1, 1, 1, 1, 2]);
  });

  it('whole-record k: people with the same multiset of tuples form a group', () => {
    // P1 {a,b}, P2 {a,b}, P3 {a,a}, P4 {a}: per row, "a" is in 5 rows and "b" in 2 (k = 2 per row)
    const r = records([
      ['P1', 'a'],
      ['P1', 'b'],
      ['P2', 'b'],
      ['P2', 'a'],
      ['P3', 'a'],
      ['P3', 'a'],
      ['P4', 'a'],
    ]);
    const w = wholeRecordAnonymity(r);
    expect(w.k).toBe(1);
    expect(w.records).toBe(4);
    expect(w.recordsBelow(2)).toBe(2); // P3, P4
    expect(w.rowsBelow(2)).toBe(3);
    expect(wholeRecordAnonymity(records([])).k).toBe(0);
  });

  it('k^m: any m known transactions (repeats included) are shared by at least k people', () => {
    const r = records([
      ['P1', 'a'],
      ['P1', 'b'],
      ['P2', 'b'],
      ['P2', 'a'],
      ['P3', 'a'],
      ['P3', 'a'],
      ['P4', 'a'],
    ]);
    // m = 1: "a" is in 4 people, "b" in 2 → k = 2
    expect(kmAnonymity(r, 1)!.k).toBe(2);
    // m = 2: {a,b} in P1, P2; {a,a} only in P3 → k = 1, P3 is singled out; P4 has one transaction: {a} → 4
    const k2 = kmAnonymity(r, 2)!;
    expect(k2.k).toBe(1);
    expect(k2.recordsBelow(2)).toBe(1);
    expect(k2.rowsBelow(2)).toBe(2);
    // whole-record k is a lower bound for every m
    for (const m of [1, 2, 3]) expect(kmAnonymity(r, m)!.k).toBeGreaterThanOrEqual(wholeRecordAnonymity(r).k);
    // over the counting limit: not counted (the caller falls back to the whole-record k)
    expect(kmAnonymity(r, 2, 3)).toBeUndefined();
    expect(() => kmAnonymity(r, 0)).toThrow(/positive integer/);
  });

  it('k^m equals a brute-force count over every multiset of up to m tuples (random tables)', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 20; trial++) {
      const rows: [string, string][] = [];
      const people = 5 + rng.int(15);
      for (let p = 0; p < people; p++) {
        const n = 1 + rng.int(5);
        for (let j = 0; j < n; j++) rows.push([`P${p}`, 'abcd'[rng.int(4)]!]);
      }
      const recs = records(rows);
      const bags = [...new Set(rows.map((r) => r[0]))].map((p) => rows.filter((r) => r[0] === p).map((r) => r[1]));
      const contains = (bag: string[], q: string[]) =>
        [...new Set(q)].every((t) => bag.filter((x) => x === t).length >= q.filter((x) => x === t).length);
      for (const m of [1, 2, 3]) {
        let k = Infinity;
        // every multiset of size 1..m over the alphabet, with support > 0
        const walk = (q: string[], from: number) => {
          if (q.length) {
            const s = bags.filter((b) => contains(b, q)).length;
            if (s > 0 && s < k) k = s;
          }
          if (q.length === m) return;
          for (let i = from; i < 4; i++) walk([...q, 'abcd'[i]!], i);
        };
        walk([], 0);
        expect(kmAnonymity(recs, m)!.k).toBe(k);
      }
    }
  });
});

describe('k-anonymity', () => {
  it('is the smallest equivalence-class size over the quasi-identifiers', () => {
    const table = [
      ['2018-04-01', 'DE', 'x1'],
      ['2018-04-01', 'DE', 'x2'],
      ['2018-04-01', 'DE', 'x3'],
      ['2018-04-01', 'FR', 'x4'],
      ['2018-04-01', 'FR', 'x5'],
      ['2018-04-02', 'FR', 'x6'],
      ['2018-04-02', 'FR', 'x7'],
    ];
    expect(kAnonymity(table, [0, 1])).toBe(2);
    expect(kAnonymity(table, [1])).toBe(3);
    expect(kAnonymity(table, [])).toBe(7);
    expect(kAnonymity(table, [2])).toBe(1);
    const ec = new EquivalenceClasses();
    for (const r of table) ec.add([r[0]!, r[1]!]);
    expect(ec.numClasses).toBe(3);
    expect(ec.rowsBelow(3)).toBe(4);
    expect(new EquivalenceClasses().k()).toBe(0);
  });
});
