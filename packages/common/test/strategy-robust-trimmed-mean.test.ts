/** Coordinate-wise trimmed mean against hand-computed cases. */
import { describe, expect, it } from 'vitest';
import { TrimmedMean, trimCount } from '../src/strategy/index.js';
import { aggregate, close, scalars } from './strategy-robust-helpers.js';

describe('trimmed mean', () => {
  it('drops ⌊β n⌋ values from each end of every coordinate', () => {
    // β = 0.2, n = 5: t = 1.  coordinate 0: 5 1 3 100 2 → drop 1 and 100 → (2+3+5)/3
    //                         coordinate 1: all 0 → the first three banks fill the window
    const out = aggregate(
      new TrimmedMean({ trimFraction: 0.2 }),
      [1, 1],
      [
        ['bank-a', [5, 0]],
        ['bank-b', [1, 0]],
        ['bank-c', [3, 0]],
        ['bank-d', [100, 0]],
        ['bank-e', [2, 0]],
      ],
    );
    close(out.weights, [1 + 10 / 3, 1]);
    // a: (1/3 + 1/3)/2, b: (0 + 1/3)/2, c: (1/3 + 1/3)/2, d: 0, e: (1/3 + 0)/2
    const w = out.bankWeights;
    expect(w['bank-a']).toBeCloseTo(1 / 3, 12);
    expect(w['bank-b']).toBeCloseTo(1 / 6, 12);
    expect(w['bank-c']).toBeCloseTo(1 / 3, 12);
    expect(w['bank-d']).toBe(0);
    expect(w['bank-e']).toBeCloseTo(1 / 6, 12);
    expect(out.numContributors).toBe(4);
    expect(out.diagnostics?.['bank-d']?.excluded).toMatch(/among the 1 lowest or highest/);
  });

  it('keeps the first banks when equal values straddle the edge of the window', () => {
    // 0 0 1 2 2, t = 1: window 0 1 2; of the two 0s a is kept, of the two 2s d.
    const out = aggregate(new TrimmedMean({ trimFraction: 0.2 }), [0], scalars(0, 0, 1, 2, 2));
    close(out.weights, [1]);
    expect(out.bankWeights).toEqual({ 'bank-a': 1 / 3, 'bank-b': 0, 'bank-c': 1 / 3, 'bank-d': 1 / 3, 'bank-e': 0 });
  });

  it('trims at the largest β below one half (t = ⌊0.49 × 5⌋ = 2: the median)', () => {
    const out = aggregate(new TrimmedMean({ trimFraction: 0.49 }), [0], scalars(-50, 1, 7, 3, 1e6));
    close(out.weights, [3]);
    expect(out.bankWeights['bank-d']).toBe(1);
  });

  it('is the plain (unweighted) mean when nothing is trimmed', () => {
    expect(trimCount(0.1, 9)).toBe(0);
    expect(trimCount(0.3, 10)).toBe(3);
    expect(trimCount(0.29, 100)).toBe(29); // 0.29 × 100 is 28.999999999999996 in binary floating point
    const out = aggregate(
      new TrimmedMean({ trimFraction: 0 }),
      [0],
      [
        ['bank-a', [1], 100],
        ['bank-b', [2], 1],
      ],
    );
    close(out.weights, [1.5]);
  });

  it('returns the common update when all updates are identical', () => {
    const out = aggregate(new TrimmedMean({ trimFraction: 0.25 }), [2], scalars(-0.5, -0.5, -0.5, -0.5));
    close(out.weights, [1.5]);
    expect(out.bankWeights).toEqual({ 'bank-a': 0.5, 'bank-b': 0.5, 'bank-c': 0, 'bank-d': 0 });
  });

  it('refuses β outside [0, 0.5)', () => {
    expect(() => new TrimmedMean({ trimFraction: 0.5 })).toThrow(/trimFraction must be in \[0, 0\.5\)/);
    expect(() => new TrimmedMean({ trimFraction: -0.1 })).toThrow(/trimFraction/);
  });
});
