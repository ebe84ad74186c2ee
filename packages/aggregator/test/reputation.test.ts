/** Reputation entries from strategy outcomes, and the quarantine rule over stored rounds (pure). */
import { describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import { createRng } from '@finsecure/common/rng';
import { Krum, withUpdateStatistics, FedAvg, type Strategy } from '@finsecure/common/strategy';
import { modifiedZ, recordReputation, reputationOf } from '../src/reputation/index.js';

const config = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  smoteRatio: 0,
  smoteK: 5,
  updateEncoding: 'float32' as const,
};

function run(strategy: Strategy, updates: [string, number[]][], probe = false) {
  const global = new Float32Array(updates[0]![1].length);
  const ctx = { roundId: 1, global, config, rng: createRng(1) };
  const inner = strategy.beginAggregation(
    ctx,
    updates.map(([bankId]) => ({ bankId, numExamples: 10 })),
  );
  const agg = probe ? withUpdateStatistics(inner, global) : inner;
  for (const [bankId, d] of updates) agg.add({ bankId, delta: Float32Array.from(d), numExamples: 10, loss: 0.3 });
  return agg.finish();
}

const honest: [string, number[]][] = [
  ['bank-1', [1, 0.1]],
  ['bank-2', [1.1, 0]],
  ['bank-3', [0.9, -0.1]],
  ['bank-4', [1, 0.05]],
  ['bank-5', [1.05, -0.05]],
];

describe('reputationOf', () => {
  it('Krum: the excluded sign-flipper gets its reason, score, cosine and an outlier line', () => {
    const out = run(new Krum({ byzantineF: 1 }), [...honest, ['bank-6', [-10, 0]]]);
    const rep = reputationOf(out, 'krum');
    expect(Object.keys(rep)).toHaveLength(6);
    const bad = rep['bank-6']!;
    expect(bad.excluded).toMatch(/krum score .* is not among the 1 lowest of 6/);
    expect(bad.score).toBeGreaterThan(rep['bank-1']!.score!);
    expect(bad.cosine).toBeLessThan(-0.99);
    expect(bad.norm).toBeCloseTo(10, 6);
    expect(bad.outlier).toMatch(/^excluded: krum score/);
    expect(bad.distance).toBeGreaterThan(10);
  });

  it('FedAvg with the probe: a ×100 scaled update is flagged by its norm, the others are not', () => {
    const out = run(new FedAvg(), [...honest, ['bank-6', [100, 10]]], true);
    const rep = reputationOf(out, 'fedavg');
    expect(rep['bank-6']!.excluded).toBeUndefined();
    expect(rep['bank-6']!.outlier).toMatch(/update norm 100 is 9\d\.\d × the round's median 1\.0/);
    // FedAvg follows the scaled update: the honest banks now point away from the aggregate.
    expect(rep['bank-1']!.cosine).toBeGreaterThan(0.9);
    for (const id of ['bank-1', 'bank-2', 'bank-4', 'bank-5']) expect(rep[id]!.outlier, id).toBeUndefined();
  });

  it('flags an update pointing against the aggregate, and a clipped one with its reason', () => {
    const rep = reputationOf(
      {
        bankWeights: { a: 0.5, b: 0.3, c: 0.2 },
        diagnostics: {
          a: { norm: 1, cosine: 0.9, aggregateDistance: 0.2 },
          b: { norm: 1.1, cosine: -0.4, aggregateDistance: 1.5 },
          c: { norm: 0.9, cosine: 0.8, clipScale: 0.25, distance: 4 },
        },
      },
      'centered-clipping',
    );
    expect(rep.b!.outlier).toBe('points against the aggregate (cosine -0.40)');
    expect(rep.c!.clipped).toMatch(/scaled by 0.250: its distance 4.000 to the previous aggregate/);
    expect(rep.c!.outlier).toMatch(/^clipped: /);
    expect(rep.a!.outlier).toBeUndefined();
  });

  it('with no diagnostics (a masked sum) it says only what the weights say; non-finite numbers are dropped', () => {
    const rep = reputationOf(
      { bankWeights: { a: 1, b: 0 }, diagnostics: { a: { norm: NaN, cosine: Infinity } } },
      'fedmedian',
    );
    expect(rep).toEqual({
      a: {},
      b: { excluded: 'fedmedian gave this update weight 0', outlier: 'excluded: fedmedian gave this update weight 0' },
    });
  });

  it('recordReputation stores the entries with the round and returns the exclusions to audit', () => {
    const banks: RoundRecord['banks'] = { a: { bytesUp: 5, bytesDown: 6, weight: 1 } };
    const excluded = recordReputation(
      banks,
      { bankWeights: { a: 1, b: 0 }, diagnostics: { a: { norm: 2 }, b: { norm: 50, excluded: 'too far' } } },
      'krum',
    );
    expect(excluded).toEqual([{ bankId: 'b', reason: 'too far' }]);
    expect(banks.a).toEqual({ bytesUp: 5, bytesDown: 6, weight: 1, reputation: { norm: 2 } });
    expect(banks.b!.reputation).toEqual({ norm: 50, excluded: 'too far', outlier: 'excluded: too far' });
  });

  it('modifiedZ: null below 3 values; ±Infinity off a zero MAD', () => {
    expect(modifiedZ([1, 2])).toBeNull();
    expect(modifiedZ([1, 1, 1, 5])).toEqual([0, 0, 0, Infinity]);
    const z = modifiedZ([1, 2, 3, 4, 100])!;
    expect(z[2]).toBe(0);
    expect(z[4]).toBeCloseTo((0.6745 * 97) / 1, 9);
  });
});
