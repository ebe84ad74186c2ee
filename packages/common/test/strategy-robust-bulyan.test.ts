/**
 * Bulyan against a hand-computed case: seven 1-D updates 0, 1, 2, 3, 4, 100, 1000 with
 * f = 1 (n = 7 = 4f + 3, f at its limit), θ = n − 2f = 5, β = θ − 2f = 3.
 * Krum rounds (score = sum of the |remaining| − f − 2 smallest squared distances):
 *   7 left, 4 nearest: c=2 scores 1+1+4+4 = 10 (b, d 15; a, e 30)        → c
 *   6 left, 3 nearest: b: 1+4+9 = 14, d: 1+4+9 = 14 (tie → b sorts first) → b
 *   5 left, 2 nearest: a: 9+16 = 25, d: 1+9 = 10, e: 1+16 = 17           → d
 *   4 left, 1 nearest: a: 16, e: 16 (tie → a)                              → a
 *   3 left, 0 nearest: every score 0 (tie → e)                             → e
 * Selected 0..4; median 2; the β = 3 closest: 2, then 1 and 3 (both at distance 1) → 2.
 */
import { describe, expect, it } from 'vitest';
import { Bulyan, closestToMedianWindow, trimWindow, windowedMean } from '../src/strategy/index.js';
import { aggregate, close, scalars } from './strategy-robust-helpers.js';

describe('Bulyan', () => {
  it('selects θ = n − 2f by iterated Krum, then averages the β closest to the median', () => {
    const out = aggregate(new Bulyan({ byzantineF: 1 }), [5], scalars(0, 1, 2, 3, 4, 100, 1000));
    close(out.weights, [7]);
    expect(out.bankWeights).toEqual({
      'bank-a': 0,
      'bank-b': 1 / 3,
      'bank-c': 1 / 3,
      'bank-d': 1 / 3,
      'bank-e': 0,
      'bank-f': 0,
      'bank-g': 0,
    });
    expect(out.numContributors).toBe(3);
    expect(out.diagnostics?.['bank-f']?.excluded).toMatch(/not among the θ = 5 updates Krum selected/);
    expect(out.diagnostics?.['bank-a']?.excluded).toMatch(/no coordinate .* among the β = 3 closest to the median/);
    expect(out.diagnostics?.['bank-c']?.score).toBe(10);
  });

  it('refuses fewer than 4f + 3 updates, with that message', () => {
    expect(() => aggregate(new Bulyan({ byzantineF: 1 }), [0], scalars(0, 1, 2, 3, 4, 5))).toThrow(
      'bulyan with byzantineF = 1 needs at least 4f + 3 = 7 updates, got 6',
    );
    expect(() => aggregate(new Bulyan({ byzantineF: 2 }), [0], scalars(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))).toThrow(
      /4f \+ 3 = 11 updates, got 10/,
    );
  });

  it('is the plain mean with f = 0 (θ = β = n)', () => {
    const out = aggregate(
      new Bulyan({ byzantineF: 0 }),
      [0, 0],
      [
        ['bank-a', [1, 3]],
        ['bank-b', [2, 6]],
        ['bank-c', [6, 0]],
      ],
    );
    close(out.weights, [3, 3]);
    expect(Object.values(out.bankWeights)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('returns the common update when all updates are identical', () => {
    const out = aggregate(new Bulyan({ byzantineF: 1 }), [1], scalars(0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25));
    close(out.weights, [1.25]);
    // Every score and value ties: the first θ ids are selected, the first β of them kept.
    expect(out.bankWeights).toMatchObject({ 'bank-a': 1 / 3, 'bank-b': 1 / 3, 'bank-c': 1 / 3, 'bank-d': 0 });
  });
});

describe('closest to the median', () => {
  it('is not a symmetric trim', () => {
    const col = [0, 1, 10, 11, 12].map((v) => Float32Array.of(v));
    // median 10; closest three: 10, 11 (1), 12 (2); 1 is 9 away.
    close(windowedMean(col, closestToMedianWindow(3)).step, [11]);
    close(windowedMean(col, trimWindow(1)).step, [(1 + 10 + 11) / 3]);
  });

  it('takes the lower value on an equal distance, from an even count', () => {
    const col = [0, 2, 4, 6].map((v) => Float32Array.of(v)); // median 3: 2 and 4 tie, then 0 and 6 tie
    close(windowedMean(col, closestToMedianWindow(1)).step, [2]);
    close(windowedMean(col, closestToMedianWindow(3)).step, [2]);
  });
});
