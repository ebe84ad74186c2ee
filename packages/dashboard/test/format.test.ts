/** The dashboard's number formatting never throws and tells "no value" (—) from ∞. */
import { describe, expect, it } from 'vitest';
import {
  formatAgo,
  formatBytes,
  formatDateTime,
  formatDecimal,
  formatEpsilon,
  formatMs,
  formatNumber,
  formatPct,
  formatTime,
  toNumber,
} from '../src/lib/format.js';

const odd: unknown[] = [null, undefined, Number.NaN, 'abc', '', {}, [], true];

describe('format helpers', () => {
  it('show ε as ∞ for the API\'s "Infinity" and for Infinity, — for no DP, decimals otherwise', () => {
    expect(formatEpsilon('Infinity')).toBe('∞');
    expect(formatEpsilon(Infinity)).toBe('∞');
    expect(formatEpsilon(null)).toBe('—');
    expect(formatEpsilon(undefined)).toBe('—');
    expect(formatEpsilon(1.23456)).toBe('1.23');
    expect(formatEpsilon(0.5, 3)).toBe('0.500');
    expect(toNumber('Infinity')).toBe(Infinity);
    expect(toNumber('-Infinity')).toBe(-Infinity);
    expect(toNumber('12')).toBeNull();
  });

  it('never throw on a value that is not a number, and show ∞ for infinities', () => {
    const numeric = [formatBytes, formatPct, formatNumber, formatDecimal, formatMs, formatEpsilon] as ((
      v: never,
    ) => string)[];
    for (const f of numeric) {
      for (const v of odd) expect(f(v as never)).toBe('—');
      expect(f(Infinity as never)).toBe('∞');
      expect(f('Infinity' as never)).toBe('∞');
      expect(f(-Infinity as never)).toBe('−∞');
    }
    for (const v of [...odd, Infinity, -Infinity, 0]) {
      expect(formatTime(v as never)).toBe('—');
      expect(formatDateTime(v as never)).toBe('—');
      expect(formatAgo(v as never, Date.now())).toBe('never');
    }
  });

  it('format finite numbers as before', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(16_384)).toBe('16 KB');
    expect(formatPct(0.4161)).toBe('41.6%');
    expect(formatNumber(12345)).toBe('12,345');
    expect(formatDecimal(0.12345)).toBe('0.123');
    expect(formatMs(1500)).toBe('1.50 s');
    expect(formatMs(125_000)).toBe('2 min 5 s');
  });
});
