import { describe, expect, it } from 'vitest';
import { createRng } from '../src/rng/index.js';
import { FedAvg, FedMedian, type BankCandidate, type FitResult, type RoundContext } from '../src/strategy/index.js';
import type { TrainingConfig } from '../src/protocol/messages.js';

const config: TrainingConfig = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  smoteRatio: 0,
  smoteK: 5,
  updateEncoding: 'float32',
};
const ctx = (global: Float32Array): RoundContext => ({ roundId: 7, global, config, rng: createRng(1) });
const cand = (bankId: string, numExamples: number): BankCandidate => ({ bankId, numExamples });

function randomUpdates(seed: number, dim: number, counts: number[]): FitResult[] {
  const rng = createRng(seed);
  return counts.map((n, b) => ({
    bankId: `b${b}`,
    numExamples: n,
    loss: rng.next(),
    delta: Float32Array.from({ length: dim }, () => rng.normal()),
  }));
}

describe('FedAvg aggregation', () => {
  it('equals the direct example-weighted mean', () => {
    const dim = 257;
    const rng = createRng(3);
    const global = Float32Array.from({ length: dim }, () => rng.normal());
    const counts = [120, 4000, 37, 900];
    const updates = randomUpdates(9, dim, counts);
    const agg = new FedAvg().beginAggregation(
      ctx(global),
      counts.map((n, b) => cand(`b${b}`, n)),
    );
    for (const u of updates) agg.add(u);
    expect(agg.count).toBe(4);
    const out = agg.finish();

    const total = counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < dim; i++) {
      let mean = 0;
      for (const u of updates) mean += (u.numExamples / total) * u.delta[i]!;
      expect(out.weights[i]).toBeCloseTo(Math.fround(global[i]! + mean), 5);
    }
    expect(out.weights).toBeInstanceOf(Float32Array);
    expect(out.numContributors).toBe(4);
    let sum = 0;
    for (const [b, n] of counts.entries()) {
      expect(out.bankWeights[`b${b}`]).toBeCloseTo(n / total, 14);
      sum += out.bankWeights[`b${b}`]!;
    }
    expect(sum).toBeCloseTo(1, 14);
    const loss = updates.reduce((s, u) => s + u.numExamples * u.loss, 0) / total;
    expect(out.meanLoss).toBeCloseTo(loss, 14);
  });

  it('keeps no reference to the deltas: 1000 adds of a 100k-float buffer reused in place', () => {
    // If the accumulator retained the buffers (instead of folding them into its running
    // sum), reusing one buffer would make every bank look like the last one.
    const dim = 100_000;
    const banks = 1000;
    const global = new Float32Array(dim).fill(1);
    const agg = new FedAvg().beginAggregation(
      ctx(global),
      Array.from({ length: banks }, (_, b) => cand(`b${b}`, b + 1)),
    );
    const buffer = new Float32Array(dim);
    for (let b = 0; b < banks; b++) {
      for (let i = 0; i < dim; i++) buffer[i] = b + (i % 7) * 0.5;
      agg.add({ bankId: `b${b}`, numExamples: b + 1, loss: 0, delta: buffer });
    }
    const out = agg.finish();
    // Σ(b+1)·b / Σ(b+1) over b < 1000 = 666, plus the per-coordinate offset.
    for (const i of [0, 1, 6, 7, 12345, dim - 1]) expect(out.weights[i]).toBeCloseTo(1 + 666 + (i % 7) * 0.5, 3);
  });

  it('lets the delta buffers be garbage-collected after add()', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const dim = 10_000;
    const agg = new FedAvg().beginAggregation(
      ctx(new Float32Array(dim)),
      Array.from({ length: 20 }, (_, b) => cand(`b${b}`, 1)),
    );
    // Allocate and add in a separate function so that no stack slot of this (suspended)
    // async test still points at the last buffer.
    const refs = ((): WeakRef<Float32Array>[] => {
      const out: WeakRef<Float32Array>[] = [];
      for (let b = 0; b < 20; b++) {
        const delta = new Float32Array(dim).fill(b);
        out.push(new WeakRef(delta));
        agg.add({ bankId: `b${b}`, numExamples: 1, loss: 0, delta });
      }
      return out;
    })();
    // WeakRef targets stay alive until the current job ends: yield before collecting.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(agg.finish().weights[0]).toBeCloseTo(9.5, 5);
  });

  it('caps a dominant bank at maxShare of the selected total', () => {
    const dim = 3;
    const global = new Float32Array(dim);
    const selected = [cand('big', 9000), cand('mid', 600), cand('small', 400)];
    const agg = new FedAvg({ maxShare: 0.5 }).beginAggregation(ctx(global), selected);
    agg.add({ bankId: 'big', numExamples: 9000, loss: 0.1, delta: new Float32Array([1, 0, 0]) });
    agg.add({ bankId: 'mid', numExamples: 600, loss: 0.2, delta: new Float32Array([0, 1, 0]) });
    agg.add({ bankId: 'small', numExamples: 400, loss: 0.3, delta: new Float32Array([0, 0, 1]) });
    const out = agg.finish();
    expect(out.bankWeights.big).toBeCloseTo(0.5, 12);
    expect(out.bankWeights.mid).toBeCloseTo(0.3, 12);
    expect(out.bankWeights.small).toBeCloseTo(0.2, 12);
    expect(Array.from(out.weights)).toEqual([0.5, 0.3, 0.2].map(Math.fround));
    // The loss stays example-weighted: it describes the data, not the vote.
    expect(out.meanLoss).toBeCloseTo((9000 * 0.1 + 600 * 0.2 + 400 * 0.3) / 10000, 12);
  });

  it('documented: a dropout can push a capped bank past maxShare', () => {
    const selected = [cand('big', 9000), cand('mid', 600), cand('small', 400)];
    const agg = new FedAvg({ maxShare: 0.5 }).beginAggregation(ctx(new Float32Array(1)), selected);
    agg.add({ bankId: 'big', numExamples: 9000, loss: 0, delta: new Float32Array([1]) });
    agg.add({ bankId: 'small', numExamples: 400, loss: 0, delta: new Float32Array([0]) });
    const out = agg.finish();
    // cap = 1000 from the selected counts; 'mid' dropped: big gets 1000 / 1400.
    expect(out.bankWeights.big).toBeCloseTo(1000 / 1400, 12);
  });

  it('rejects bad updates without corrupting the sum', () => {
    const selected = [cand('a', 10), cand('b', 10)];
    const agg = new FedAvg().beginAggregation(ctx(new Float32Array(2)), selected);
    expect(() => agg.add({ bankId: 'a', numExamples: 10, loss: 0, delta: new Float32Array(3) })).toThrow(
      /3 values, the model has 2/,
    );
    expect(() => agg.add({ bankId: 'a', numExamples: 10, loss: 0, delta: new Float32Array([1, NaN]) })).toThrow(
      /value 1 is NaN/,
    );
    expect(() => agg.add({ bankId: 'a', numExamples: 10, loss: 0, delta: new Float32Array([1, Infinity]) })).toThrow(
      /Infinity/,
    );
    expect(() => agg.add({ bankId: 'a', numExamples: 0, loss: 0, delta: new Float32Array(2) })).toThrow(/numExamples/);
    expect(() => agg.add({ bankId: 'a', numExamples: 1.5, loss: 0, delta: new Float32Array(2) })).toThrow(
      /numExamples/,
    );
    expect(() => agg.add({ bankId: 'z', numExamples: 1, loss: 0, delta: new Float32Array(2) })).toThrow(/not selected/);
    expect(agg.count).toBe(0);
    agg.add({ bankId: 'a', numExamples: 10, loss: 0, delta: new Float32Array([2, 4]) });
    expect(() => agg.add({ bankId: 'a', numExamples: 10, loss: 0, delta: new Float32Array(2) })).toThrow(/duplicate/);
    expect(Array.from(agg.finish().weights)).toEqual([2, 4]);
  });

  it('throws a clear error with zero contributors', () => {
    const agg = new FedAvg().beginAggregation(ctx(new Float32Array(2)), [cand('a', 1)]);
    expect(() => agg.finish()).toThrow(/round 7: no bank contributed/);
  });
});

describe('FedMedian aggregation', () => {
  it('takes the coordinate-wise median and ignores an outlier', () => {
    const global = new Float32Array([1, 1]);
    const agg = new FedMedian().beginAggregation(ctx(global), [cand('a', 1), cand('b', 1), cand('c', 1), cand('d', 1)]);
    const buf = new Float32Array(2);
    for (const [id, v] of [
      ['a', [1, -1]],
      ['b', [2, -2]],
      ['c', [3, -3]],
      ['d', [1e6, 1e6]],
    ] as const) {
      buf.set(v); // reused buffer: the median accumulator must copy
      agg.add({ bankId: id, numExamples: 5, loss: 1, delta: buf });
    }
    const out = agg.finish();
    expect(Array.from(out.weights)).toEqual([1 + 2.5, 1 - 1.5]);
    expect(out.bankWeights).toEqual({ a: 0.25, b: 0.25, c: 0.25, d: 0.25 });
    expect(out.numContributors).toBe(4);
  });
});
