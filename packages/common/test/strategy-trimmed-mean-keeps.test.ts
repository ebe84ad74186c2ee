/** The trimmed mean keeps n − 2t ≥ 1 values of every coordinate (Yin et al. 2018), whatever β < 0.5. */
import { describe, expect, it } from 'vitest';
import { TrimmedMean, nominalTrimCount, trimCount } from '../src/strategy/index.js';
import { aggregate, close, scalars } from './strategy-robust-helpers.js';

const JUST_UNDER_HALF = [0.49, 0.4999999999, 0.499999999999, 0.49999999999999994];

describe('trimmed mean near β = 0.5', () => {
  it('t = ⌊β n⌋ exactly for β just under 0.5, never every value', () => {
    expect(trimCount(0.4999999999, 2)).toBe(0);
    expect(trimCount(0.4999999999, 10)).toBe(4);
    expect(trimCount(0.4999999999, 3)).toBe(1);
    // Within rounding of 0.5 the product is n / 2: capped at ⌊(n − 1) / 2⌋.
    expect(nominalTrimCount(0.49999999999999994, 2)).toBe(1);
    expect(trimCount(0.49999999999999994, 2)).toBe(0);
    expect(trimCount(0.49999999999999994, 4)).toBe(1);
    for (const beta of [...JUST_UNDER_HALF, 0, 0.1, 0.25, 1 / 3, 0.3])
      for (let n = 0; n <= 64; n++) {
        const t = trimCount(beta, n);
        expect(t).toBeGreaterThanOrEqual(0);
        expect(t).toBeLessThanOrEqual(Math.floor(beta * n + 1e-9));
        if (n >= 1) expect(n - 2 * t).toBeGreaterThanOrEqual(1);
      }
  });

  it('keeps the float slack for β n that is an integer up to rounding', () => {
    expect(trimCount(0.29, 100)).toBe(29); // 0.29 × 100 is 28.999999999999996
    expect(trimCount(0.3, 10)).toBe(3);
    expect(trimCount(0.1, 30)).toBe(3); // 0.1 × 30 is 3.0000000000000004
    expect(trimCount(0.2999999999, 10)).toBe(2); // 2.999999999 is not 3 up to rounding
  });

  it('averages two updates instead of dropping both (no NaN model)', () => {
    for (const beta of JUST_UNDER_HALF) {
      const out = aggregate(
        new TrimmedMean({ trimFraction: beta }),
        [1, 2],
        [
          ['bank-a', [0.1, 0.2]],
          ['bank-b', [0.3, 0.4]],
        ],
      );
      close(out.weights, [1.2, 2.3]);
      expect(out.bankWeights).toEqual({ 'bank-a': 0.5, 'bank-b': 0.5 });
    }
  });

  it('keeps the median of an even round whose β n rounds to n / 2', () => {
    // n = 4, nominal t = 2 would drop all four; capped t = 1 keeps the middle two.
    const out = aggregate(new TrimmedMean({ trimFraction: 0.49999999999999994 }), [0], scalars(-100, 1, 3, 100));
    close(out.weights, [2]);
  });
});
