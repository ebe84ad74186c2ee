/** Per-bank update statistics for reputation: norm, distance and cosine to the aggregate step. */
import { describe, expect, it } from 'vitest';
import {
  FedAvg,
  FedMedian,
  Krum,
  TrimmedMean,
  AdaptiveNormBound,
  needsStatisticsProbe,
  updateStatistics,
  UpdateCopyArena,
  withUpdateStatistics,
} from '../src/strategy/index.js';
import { aggregate, ctx } from './strategy-robust-helpers.js';

describe('updateStatistics', () => {
  it('computes norm, distance and cosine by hand', () => {
    // Δ = (3, 4), A = (1, 0): ‖Δ‖ = 5, ‖Δ − A‖ = √(4 + 16) = √20, cos = 3 / 5.
    const s = updateStatistics([3, 4], [1, 0]);
    expect(s.norm).toBeCloseTo(5, 12);
    expect(s.aggregateDistance).toBeCloseTo(Math.sqrt(20), 12);
    expect(s.cosine).toBeCloseTo(0.6, 12);
  });

  it('gives cosine −1 for a sign-flipped update and leaves it out for a zero vector', () => {
    expect(updateStatistics([-2, -2], [1, 1]).cosine).toBeCloseTo(-1, 12);
    expect(updateStatistics([0, 0], [1, 1]).cosine).toBeUndefined();
    expect(updateStatistics([1, 1], [0, 0])).toEqual({ norm: Math.SQRT2, aggregateDistance: Math.SQRT2 });
  });

  it('refuses vectors of different lengths', () => {
    expect(() => updateStatistics([1], [1, 2])).toThrow(/1 values, the aggregate step 2/);
  });
});

describe('statistics in the outcomes', () => {
  const updates: [string, number[]][] = [
    ['bank-a', [1, 0]],
    ['bank-b', [1.2, 0.1]],
    ['bank-c', [0.9, -0.1]],
    ['bank-d', [1.1, 0]],
    ['bank-e', [-50, 0]],
  ];

  it('Krum: the hostile update gets cosine −1 and a large distance; the kept one distance 0', () => {
    const out = aggregate(new Krum({ byzantineF: 1 }), [0, 0], updates);
    const kept = Object.entries(out.bankWeights).find(([, w]) => w === 1)![0];
    expect(out.diagnostics?.[kept]?.aggregateDistance).toBeCloseTo(0, 6);
    expect(out.diagnostics?.[kept]?.cosine).toBeCloseTo(1, 6);
    expect(out.diagnostics?.['bank-e']?.cosine).toBeCloseTo(-1, 6);
    expect(out.diagnostics?.['bank-e']?.norm).toBeCloseTo(50, 6);
    expect(out.diagnostics?.['bank-e']?.aggregateDistance).toBeGreaterThan(50);
    expect(out.diagnostics?.['bank-e']?.score).toBeGreaterThan(0); // the Krum score is kept
  });

  it('trimmed mean and FedMedian report every bank', () => {
    for (const s of [new TrimmedMean({ trimFraction: 0.2 }), new FedMedian()]) {
      const out = aggregate(s, [0, 0], updates);
      expect(Object.keys(out.diagnostics!).sort()).toEqual(['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e']);
      expect(out.diagnostics?.['bank-e']?.cosine).toBeCloseTo(-1, 6);
      expect(out.diagnostics?.['bank-a']?.cosine).toBeGreaterThan(0.9);
    }
  });

  it('withUpdateStatistics adds them to FedAvg against the applied step, keeping its weights', () => {
    const g = Float32Array.from([0, 0]);
    const plain = aggregate(new FedAvg(), g, updates);
    const strategy = new FedAvg();
    const agg = withUpdateStatistics(
      strategy.beginAggregation(
        ctx(g),
        updates.map(([bankId]) => ({ bankId, numExamples: 1 })),
      ),
      g,
    );
    for (const [bankId, delta] of updates)
      agg.add({ bankId, delta: Float32Array.from(delta), numExamples: 1, loss: 0.5 });
    expect(agg.count).toBe(5);
    const out = agg.finish();
    expect(Array.from(out.weights)).toEqual(Array.from(plain.weights));
    expect(out.bankWeights).toEqual(plain.bankWeights);
    // The mean is (−45.8 / 5, 0) = (−9.16, 0): bank-e points with it, the honest banks against it.
    expect(out.weights[0]).toBeCloseTo(-9.16, 5);
    expect(out.diagnostics?.['bank-e']?.cosine).toBeCloseTo(1, 6);
    expect(out.diagnostics?.['bank-a']?.cosine).toBeCloseTo(-1, 6);
    expect(out.diagnostics?.['bank-a']?.aggregateDistance).toBeCloseTo(10.16, 5);
  });

  it('an arena shared by consecutive rounds gives every round the statistics a fresh one gives', () => {
    const arena = new UpdateCopyArena();
    const d = 70_000; // several updates per 1 MB block, and a block boundary inside a round
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const round = (seed: number, shared: UpdateCopyArena | undefined) => {
      const g = new Float32Array(d);
      const agg = withUpdateStatistics(
        new FedAvg().beginAggregation(
          ctx(g),
          ids.map((bankId) => ({ bankId, numExamples: 1 })),
        ),
        g,
        shared ? { arena: shared } : {},
      );
      ids.forEach((bankId, b) => {
        const delta = Float32Array.from({ length: d }, (_, i) => Math.sin(seed * 31 + b * 7 + i) * (b === 4 ? -3 : 1));
        agg.add({ bankId, delta, numExamples: 1, loss: 0.5 });
      });
      return agg.finish().diagnostics;
    };
    for (const seed of [1, 2, 3]) expect(round(seed, arena)).toEqual(round(seed, undefined));
  });

  it('withUpdateStatistics does not keep an update the inner accumulator refused', () => {
    const g = Float32Array.from([0, 0]);
    const agg = withUpdateStatistics(new FedAvg().beginAggregation(ctx(g), [{ bankId: 'bank-a', numExamples: 1 }]), g);
    expect(() => agg.add({ bankId: 'bank-z', delta: Float32Array.from([1, 1]), numExamples: 1, loss: 0.5 })).toThrow();
    agg.add({ bankId: 'bank-a', delta: Float32Array.from([1, 1]), numExamples: 1, loss: 0.5 });
    expect(Object.keys(agg.finish().diagnostics!)).toEqual(['bank-a']);
  });

  it('under the adaptive norm bound the pre-clip norm is kept', () => {
    const s = new AdaptiveNormBound(new TrimmedMean({ trimFraction: 0.2 }), {
      adaptiveNormK: 2,
      adaptiveNormAction: 'clip',
    });
    const out = aggregate(s, [0, 0], updates);
    expect(out.diagnostics?.['bank-e']?.norm).toBeCloseTo(50, 6);
    expect(out.diagnostics?.['bank-e']?.clipScale).toBeLessThan(0.1);
    expect(out.diagnostics?.['bank-e']?.cosine).toBeCloseTo(-1, 6);
  });

  it('names the strategies that need the probe', () => {
    expect(needsStatisticsProbe('fedavg')).toBe(true);
    expect(needsStatisticsProbe('centered-clipping')).toBe(true);
    expect(needsStatisticsProbe('krum')).toBe(false);
    expect(needsStatisticsProbe('fedmedian')).toBe(false);
  });
});
