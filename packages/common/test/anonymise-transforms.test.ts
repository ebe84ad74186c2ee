/** The per-value transformations of the anonymisation pipeline and the k-anonymity count. */
import { describe, expect, it } from 'vitest';
import {
  amountBand,
  checkPseudonymKey,
  EquivalenceClasses,
  generaliseTime,
  guessRole,
  kAnonymity,
  laplace,
  maskLastFour,
  noisyAmount,
  parseAnonymiseMapping,
  pseudonym,
  resolveRoles,
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
