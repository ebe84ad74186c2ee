/**
 * Krum and Multi-Krum against hand-computed cases. Five 1-D updates 0, 1, 2, 3, 100 with
 * f = 1 (n = 5 = 2f + 3, f at its limit): each score sums the n − f − 2 = 2 smallest
 * squared distances to the others:
 *   a=0: 1 + 4 = 5      b=1: 1 + 1 = 2      c=2: 1 + 1 = 2      d=3: 1 + 4 = 5
 *   e=100: 97² + 98² = 9409 + 9604 = 19013
 */
import { describe, expect, it } from 'vitest';
import { Krum, MultiKrum, krumScores, pairwiseSquaredDistances } from '../src/strategy/index.js';
import { aggregate, close, scalars, type U } from './strategy-robust-helpers.js';

const withCounts: U[] = [
  ['bank-a', [0], 10],
  ['bank-b', [1], 20],
  ['bank-c', [2], 30],
  ['bank-d', [3], 40],
  ['bank-e', [100], 1000],
];

describe('Krum', () => {
  it('scores by the n − f − 2 nearest squared distances', () => {
    const dist = pairwiseSquaredDistances([0, 1, 2, 3, 100].map((v) => Float32Array.of(v)));
    expect(Array.from(krumScores(dist, 5, [0, 1, 2, 3, 4], 1))).toEqual([5, 2, 2, 5, 19013]);
  });

  it('keeps the lowest score; a tie goes to the bank id that sorts first', () => {
    const out = aggregate(new Krum({ byzantineF: 1 }), [10], scalars(0, 1, 2, 3, 100));
    close(out.weights, [11]); // b (score 2, tied with c)
    expect(out.bankWeights).toEqual({ 'bank-a': 0, 'bank-b': 1, 'bank-c': 0, 'bank-d': 0, 'bank-e': 0 });
    expect(out.numContributors).toBe(1);
    expect(out.diagnostics?.['bank-e']).toMatchObject({ score: 19013 });
    expect(out.diagnostics?.['bank-e']?.excluded).toMatch(/krum score 1\.901e\+4 is not among the 1 lowest of 5/);
    expect(out.diagnostics?.['bank-b']?.excluded).toBeUndefined();
  });

  it('does not depend on the order updates arrive in', () => {
    const a = aggregate(new Krum({ byzantineF: 1 }), [0], scalars(0, 1, 2, 3, 100));
    const b = aggregate(new Krum({ byzantineF: 1 }), [0], scalars(0, 1, 2, 3, 100).reverse());
    expect(b.weights).toEqual(a.weights);
    expect(b.bankWeights).toEqual(a.bankWeights);
  });

  it('refuses fewer than 2f + 3 updates, with that message', () => {
    expect(() => aggregate(new Krum({ byzantineF: 1 }), [0], scalars(0, 1, 2, 3))).toThrow(
      'krum with byzantineF = 1 needs at least 2f + 3 = 5 updates, got 4',
    );
    expect(() => aggregate(new Krum({ byzantineF: 0 }), [0], scalars(0, 1))).toThrow(/2f \+ 3 = 3 updates, got 2/);
  });

  it('returns the common update when all updates are identical', () => {
    const out = aggregate(
      new Krum({ byzantineF: 1 }),
      [1, 2],
      [
        ['bank-a', [0.5, -0.25]],
        ['bank-b', [0.5, -0.25]],
        ['bank-c', [0.5, -0.25]],
        ['bank-d', [0.5, -0.25]],
        ['bank-e', [0.5, -0.25]],
      ],
    );
    close(out.weights, [1.5, 1.75]);
    expect(out.bankWeights['bank-a']).toBe(1); // every score is 0: the first id
  });

  it('uses the L2 distance over every coordinate', () => {
    // (0,0) (3,4) (6,8) (0,0.1) (30,40), f = 1, 2 nearest: a: 0.01 + 25 ; d: 0.01 + 24.21 = 24.22
    const out = aggregate(
      new Krum({ byzantineF: 1 }),
      [0, 0],
      [
        ['bank-a', [0, 0]],
        ['bank-b', [3, 4]],
        ['bank-c', [6, 8]],
        ['bank-d', [0, 0.1]],
        ['bank-e', [30, 40]],
      ],
    );
    expect(out.diagnostics?.['bank-a']?.score).toBeCloseTo(25.01, 5);
    expect(out.diagnostics?.['bank-d']?.score).toBeCloseTo(0.01 + 3 * 3 + 3.9 * 3.9, 5);
    close(out.weights, [0, 0.1]);
  });
});

describe('Multi-Krum', () => {
  it('averages the m lowest scores by example count (default m = n − f)', () => {
    const out = aggregate(new MultiKrum({ byzantineF: 1 }), [0], withCounts);
    // b, c (2), a, d (5): (0·10 + 1·20 + 2·30 + 3·40) / 100 = 2
    close(out.weights, [2]);
    expect(out.bankWeights).toEqual({ 'bank-a': 0.1, 'bank-b': 0.2, 'bank-c': 0.3, 'bank-d': 0.4, 'bank-e': 0 });
    expect(out.numContributors).toBe(4);
    expect(out.meanLoss).toBeCloseTo(0.5);
  });

  it('keeps exactly m; m = 1 is Krum', () => {
    const two = aggregate(new MultiKrum({ byzantineF: 1, multiKrumM: 2 }), [0], withCounts);
    close(two.weights, [(1 * 20 + 2 * 30) / 50]);
    expect(two.bankWeights['bank-b']).toBeCloseTo(0.4);
    const one = aggregate(new MultiKrum({ byzantineF: 1, multiKrumM: 1 }), [0], withCounts);
    expect(one.weights).toEqual(aggregate(new Krum({ byzantineF: 1 }), [0], withCounts).weights);
  });

  it('refuses m > n − f', () => {
    expect(() => aggregate(new MultiKrum({ byzantineF: 1, multiKrumM: 5 }), [0], withCounts)).toThrow(
      'multikrum: multiKrumM = 5 exceeds n - f = 4 (5 updates, byzantineF = 1)',
    );
  });

  it('rejects invalid constructor options, naming them', () => {
    expect(() => new Krum({ byzantineF: -1 })).toThrow(/byzantineF/);
    expect(() => new MultiKrum({ byzantineF: 1, multiKrumM: 1.5 })).toThrow(/multiKrumM/);
  });
});
