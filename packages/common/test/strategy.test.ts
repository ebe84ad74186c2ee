import { describe, expect, it } from 'vitest';
import { createRng } from '../src/rng/index.js';
import {
  createStrategy,
  FedAvg,
  FedMedian,
  selectBanks,
  selectionSize,
  shareCap,
  type BankCandidate,
  type RoundContext,
} from '../src/strategy/index.js';
import type { TrainingConfig } from '../src/protocol/messages.js';

const config: TrainingConfig = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  smoteRatio: 0,
  smoteK: 5,
  updateEncoding: 'float32',
};

function ctx(global: Float32Array, seed = 1): RoundContext {
  return { roundId: 3, global, config, rng: createRng(seed) };
}

function banks(...counts: number[]): BankCandidate[] {
  return counts.map((n, i) => ({ bankId: `bank-${String.fromCharCode(97 + i)}`, numExamples: n }));
}

describe('selection', () => {
  it('selects max(minBanks, ceil(fraction × n)), all when fewer', () => {
    expect(selectionSize(30, 0.1, 2)).toBe(3); // not 4: 0.1 × 30 = 3.0000000000000004
    expect(selectionSize(10, 0.25, 2)).toBe(3);
    expect(selectionSize(10, 0.1, 5)).toBe(5);
    expect(selectionSize(3, 0.5, 5)).toBe(3);
    expect(selectionSize(0, 1, 1)).toBe(0);
    expect(() => selectionSize(3, 1.5, 1)).toThrow(/fraction/);
    expect(() => selectionSize(3, 0.5, -1)).toThrow(/minBanks/);
  });

  it('is deterministic for a seed and independent of candidate order', () => {
    const cands = banks(...Array.from({ length: 20 }, (_, i) => 100 + i));
    const a = selectBanks(cands, 0.3, 2, createRng(42)).map((c) => c.bankId);
    const b = selectBanks([...cands].reverse(), 0.3, 2, createRng(42)).map((c) => c.bankId);
    expect(a).toHaveLength(6);
    expect(new Set(a).size).toBe(6);
    expect(b).toEqual(a);
    expect(a).toEqual([...a].sort());
    const c = selectBanks(cands, 0.3, 2, createRng(43)).map((x) => x.bankId);
    expect(c).not.toEqual(a);
  });

  it('selects every bank roughly equally often', () => {
    const cands = banks(...Array(10).fill(1));
    const rng = createRng(5);
    const hits = new Map<string, number>();
    for (let t = 0; t < 5000; t++)
      for (const c of selectBanks(cands, 0.3, 1, rng)) hits.set(c.bankId, (hits.get(c.bankId) ?? 0) + 1);
    for (const h of hits.values()) expect(Math.abs(h / 5000 - 0.3)).toBeLessThan(0.03);
  });

  it('refuses duplicate candidates', () => {
    expect(() => selectBanks([...banks(1, 2), ...banks(3)], 1, 1, createRng(1))).toThrow(/duplicate/);
  });

  it('FedAvg.configureFit gives every selected bank the round config', () => {
    const fit = new FedAvg().configureFit(ctx(new Float32Array(1)), banks(1, 2, 3, 4), 0.5, 1);
    expect(fit).toHaveLength(2);
    for (const f of fit) expect(f.config).toBe(config);
    expect(new FedAvg().configureEvaluate(ctx(new Float32Array(1)), ['x', 'y'], banks(1))).toEqual(['x', 'y']);
  });
});

describe('shareCap (water-filling)', () => {
  it('is Infinity when nobody exceeds the share', () => {
    expect(shareCap([10, 10, 10], 0.5)).toBe(Infinity);
    expect(shareCap([100, 1], 1)).toBe(Infinity);
  });

  it('caps the largest banks exactly at maxShare of the capped total', () => {
    expect(shareCap([100, 10, 10], 0.5)).toBeCloseTo(20, 12);
    const counts = [5000, 3000, 800, 150, 50];
    for (const s of [0.2, 0.3, 0.45, 0.5]) {
      expect(counts[0]! / counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(s); // a cap is needed
      const c = shareCap(counts, s);
      const eff = counts.map((n) => Math.min(n, c));
      const total = eff.reduce((a, b) => a + b, 0);
      expect(Math.max(...eff) / total).toBeLessThanOrEqual(s + 1e-12);
      // Tight: the capped banks sit exactly at the cap (no weight lowered needlessly).
      expect(Math.max(...eff) / total).toBeCloseTo(s, 12);
    }
  });

  it('falls back to equal weights when the cap is unattainable', () => {
    expect(shareCap([100, 50, 10], 0.2)).toBe(10);
  });
});

describe('createStrategy', () => {
  it('builds strategies by name and validates options', () => {
    const s = createStrategy('fedavg', { maxShare: 0.4 });
    expect(s).toBeInstanceOf(FedAvg);
    expect((s as FedAvg).maxShare).toBe(0.4);
    expect(createStrategy('fedmedian')).toBeInstanceOf(FedMedian);
    expect(() => createStrategy('fedavg', { maxShare: 0 })).toThrow(/invalid options/);
    expect(() => createStrategy('fedavg', { maxshare: 0.5 })).toThrow(/invalid options/);
    expect(() => createStrategy('zeno')).toThrow(/unknown strategy "zeno"/);
  });
});
