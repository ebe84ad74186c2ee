/** Keyed pseudonyms (HMAC) of customer, account and transaction ids, and the key they need. */
import { describe, expect, it } from 'vitest';
import { checkPseudonymKey, pseudonym } from '@finsecure/common/anonymise';

const KEY = Buffer.alloc(32, 7);
const KEY2 = Buffer.alloc(32, 8);

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
