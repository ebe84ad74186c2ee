/** Column roles of the anonymisation pipeline: guessed from header names, set by a mapping. */
import { describe, expect, it } from 'vitest';
import { guessRole, parseAnonymiseMapping, resolveRoles } from '@finsecure/common/anonymise';

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
