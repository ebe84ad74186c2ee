/** The adaptive norm bound (k × the round's median norm) around FedAvg and Krum. */
import { describe, expect, it } from 'vitest';
import { AdaptiveNormBound, FedAvg, Krum } from '../src/strategy/index.js';
import { aggregate, close, scalars } from './strategy-robust-helpers.js';

describe('adaptive norm bound', () => {
  // Norms 1, 2, 3, 100: median (2 + 3)/2 = 2.5; k = 2 → bound 5.
  it('rejects updates above k × the median norm (weight 0, with the reason)', () => {
    const s = new AdaptiveNormBound(new FedAvg(), { adaptiveNormK: 2 });
    const out = aggregate(s, [0], scalars(1, 2, 3, 100));
    close(out.weights, [2]);
    expect(out.bankWeights).toEqual({ 'bank-a': 1 / 3, 'bank-b': 1 / 3, 'bank-c': 1 / 3, 'bank-d': 0 });
    expect(out.diagnostics?.['bank-d']?.excluded).toBe(
      "update norm 100.0 exceeds adaptiveNormK 2 × the round's median norm 2.500",
    );
    expect(out.diagnostics?.['bank-a']).toEqual({ norm: 1 });
    expect(s.name).toBe('fedavg');
  });

  it('or clips them to k × the median norm', () => {
    const s = new AdaptiveNormBound(new FedAvg(), { adaptiveNormK: 2, adaptiveNormAction: 'clip' });
    const out = aggregate(s, [0], scalars(1, 2, 3, -100));
    close(out.weights, [(1 + 2 + 3 - 5) / 4]);
    expect(out.bankWeights['bank-d']).toBe(0.25);
    expect(out.diagnostics?.['bank-d']?.clipScale).toBeCloseTo(0.05, 9);
  });

  it('keeps every update when all are identical or zero', () => {
    const s = new AdaptiveNormBound(new FedAvg(), { adaptiveNormK: 1 });
    close(aggregate(s, [1], scalars(0.5, 0.5, 0.5)).weights, [1.5]);
    close(aggregate(s, [1], scalars(0, 0)).weights, [1]);
  });

  it('composes with a robust strategy, whose diagnostics it keeps', () => {
    const s = new AdaptiveNormBound(new Krum({ byzantineF: 1 }), { adaptiveNormK: 3 });
    // Norms 1, 1.1, 1.2, 1.3, 50, 60: median 1.25, bound 3.75 → 50 and 60 rejected; Krum
    // then sees 4 updates, fewer than 2f + 3 = 5, and refuses the round.
    expect(() => aggregate(s, [0], scalars(1, 1.1, 1.2, 1.3, 50, 60))).toThrow(/2f \+ 3 = 5 updates, got 4/);
    const out = aggregate(s, [0], scalars(1, 1.1, 1.2, 1.3, 1.4, 60));
    close(out.weights, [1.2]); // Krum picks the most central of the five kept
    expect(out.bankWeights['bank-f']).toBe(0);
    expect(out.diagnostics?.['bank-f']?.excluded).toMatch(/adaptiveNormK 3/);
    expect(out.diagnostics?.['bank-c']).toMatchObject({
      norm: expect.closeTo(1.2, 6) as number,
      score: expect.any(Number) as number,
    });
  });

  it('still refuses bad updates at once, before buffering them', () => {
    const s = new AdaptiveNormBound(new FedAvg(), { adaptiveNormK: 2 });
    const agg = s.beginAggregation({ roundId: 1, global: new Float32Array(2), config: {} as never, rng: {} as never }, [
      { bankId: 'bank-a', numExamples: 1 },
    ]);
    expect(() => agg.add({ bankId: 'bank-x', delta: new Float32Array(2), numExamples: 1, loss: 0 })).toThrow(
      /not selected/,
    );
    expect(() => agg.add({ bankId: 'bank-a', delta: new Float32Array(3), numExamples: 1, loss: 0 })).toThrow(
      /has 3 values, the model has 2/,
    );
  });

  it('refuses k below 1', () => {
    expect(() => new AdaptiveNormBound(new FedAvg(), { adaptiveNormK: 0.5 })).toThrow(/adaptiveNormK must be/);
  });
});
