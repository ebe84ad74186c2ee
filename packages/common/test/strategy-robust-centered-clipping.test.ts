/** Centered clipping against hand-computed cases (τ = clipRadius, L = clipIterations). */
import { describe, expect, it } from 'vitest';
import { CenteredClipping, type Strategy } from '../src/strategy/index.js';
import { aggregate, close, scalars } from './strategy-robust-helpers.js';

describe('centered clipping', () => {
  it('clips each update to τ around the centre (zero in the first round)', () => {
    // a (0.3, 0.4): distance 0.5 < τ, kept whole; b (3, 4): distance 5 → × 0.2 = (0.6, 0.8);
    // c (0, −2): distance 2 → × 0.5 = (0, −1). v₁ = (0.9, 0.2) / 3.
    const cc = new CenteredClipping({ clipRadius: 1 });
    const out = aggregate(
      cc,
      [1, 1],
      [
        ['bank-a', [0.3, 0.4]],
        ['bank-b', [3, 4]],
        ['bank-c', [0, -2]],
      ],
    );
    close(out.weights, [1.3, 1 + 0.2 / 3]);
    expect(out.bankWeights['bank-a']).toBeCloseTo(1 / 1.7, 6);
    expect(out.bankWeights['bank-b']).toBeCloseTo(0.2 / 1.7, 6);
    expect(out.bankWeights['bank-c']).toBeCloseTo(0.5 / 1.7, 6);
    expect(out.diagnostics?.['bank-b']?.clipScale).toBeCloseTo(0.2, 6);
    expect(out.diagnostics?.['bank-b']?.distance).toBeCloseTo(5, 6);
    expect(out.diagnostics?.['bank-a']?.clipScale).toBeUndefined();
    expect(out.numContributors).toBe(3);
  });

  function twoRounds(cc: Strategy, secondGlobal: number[]) {
    const first = aggregate(
      cc,
      [1, 1],
      [
        ['bank-a', [0.6, 0.8]],
        ['bank-b', [3, 4]],
        ['bank-c', [0, -2]],
      ],
    );
    const global = secondGlobal.length ? Float32Array.from(secondGlobal) : first.weights;
    return aggregate(cc, global, [
      ['bank-a', [0.4, 0.2]],
      ['bank-b', [3.4, 4.2]],
    ]);
  }

  it('centres the next round on the last aggregate once its model is the global model', () => {
    // v₀ = (0.4, 0.2); a is at the centre; b is (3, 4) away → (0.6, 0.8). v₁ = v₀ + (0.3, 0.4).
    const out = twoRounds(new CenteredClipping({ clipRadius: 1 }), []);
    close(out.weights, [1.4 + 0.7, 1.2 + 0.6], 5);
    expect(out.diagnostics?.['bank-a']?.distance).toBeCloseTo(0, 6);
  });

  it('starts again from zero when a round starts from a model it did not produce', () => {
    // v₀ = 0: a (0.4, 0.2) within τ; b (3.4, 4.2) at distance √29.2 → scaled to norm 1.
    const out = twoRounds(new CenteredClipping({ clipRadius: 1 }), [0, 0]);
    const s = 1 / Math.sqrt(29.2);
    close(out.weights, [(0.4 + 3.4 * s) / 2, (0.2 + 4.2 * s) / 2], 5);
  });

  it('iterates L times around the moving centre', () => {
    // 0, 0, 10, τ = 1: v₁ = (0 + 0 + 1)/3 = 1/3; v₂ = 1/3 + (−1/3 − 1/3 + 1)/3 = 4/9.
    const out = aggregate(new CenteredClipping({ clipRadius: 1, clipIterations: 2 }), [0], scalars(0, 0, 10));
    close(out.weights, [4 / 9]);
    const one = aggregate(new CenteredClipping({ clipRadius: 1 }), [0], scalars(0, 0, 10));
    close(one.weights, [1 / 3]);
  });

  it('moves identical updates by at most τ, and returns them when within τ', () => {
    close(
      aggregate(
        new CenteredClipping({ clipRadius: 1 }),
        [0, 0],
        [
          ['bank-a', [2, 0]],
          ['bank-b', [2, 0]],
        ],
      ).weights,
      [1, 0],
    );
    close(
      aggregate(
        new CenteredClipping({ clipRadius: 5 }),
        [0, 0],
        [
          ['bank-a', [2, 0]],
          ['bank-b', [2, 0]],
        ],
      ).weights,
      [2, 0],
    );
  });

  it('rejects invalid options, naming them', () => {
    expect(() => new CenteredClipping({ clipRadius: 0 })).toThrow(/clipRadius/);
    expect(() => new CenteredClipping({ clipRadius: 1, clipIterations: 0 })).toThrow(/clipIterations/);
  });
});
