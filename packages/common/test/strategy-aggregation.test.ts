import { describe, expect, it } from 'vitest';
import { createRng } from '../src/rng/index.js';
import {
  createStrategy,
  FedAvg,
  FedMedian,
  localSteps,
  type BankCandidate,
  type FitResult,
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

describe('FedAvg step normalisation (FedNova)', () => {
  const cfg = (epochs: number, batchSize: number): TrainingConfig => ({ ...config, epochs, batchSize });

  it('counts local steps as the trainer does', () => {
    expect(localSteps(1000, 2, 256)).toBe(2 * 4);
    expect(localSteps(1024, 1, 256)).toBe(4);
    expect(localSteps(29, 2, 256)).toBe(2); // one short batch per epoch
    expect(localSteps(1, 3, 1)).toBe(3);
  });

  it('step = τ_eff · Σ pᵢ Δᵢ / τᵢ, with τᵢ from numTrained (else numExamples)', () => {
    const global = new Float32Array([1, -1, 0.5]);
    const c: RoundContext = { roundId: 1, global, config: cfg(2, 100), rng: createRng(1) };
    const agg = new FedAvg({ normalizeSteps: true }).beginAggregation(c, [cand('big', 1000), cand('small', 100)]);
    // big: 1000 rows → τ = 2 × 10 = 20; small trained 150 rows after SMOTE → τ = 2 × 2 = 4.
    const dBig = new Float32Array([2, 0, -1]);
    const dSmall = new Float32Array([0, 4, 1]);
    agg.add({ bankId: 'big', numExamples: 1000, loss: 0.1, delta: dBig });
    agg.add({ bankId: 'small', numExamples: 100, numTrained: 150, loss: 0.2, delta: dSmall });
    const out = agg.finish();
    const p = [1000 / 1100, 100 / 1100];
    const tau = [20, 4];
    const tauEff = p[0]! * tau[0]! + p[1]! * tau[1]!;
    for (let i = 0; i < 3; i++) {
      const step = tauEff * ((p[0]! * dBig[i]!) / tau[0]! + (p[1]! * dSmall[i]!) / tau[1]!);
      expect(out.weights[i]).toBeCloseTo(global[i]! + step, 5);
    }
    // Each bank's share of the step is pᵢ/τᵢ normalised: here (1000/20) : (100/4) = 2 : 1.
    expect(out.bankWeights.big).toBeCloseTo(2 / 3, 12);
    expect(out.bankWeights.small).toBeCloseTo(1 / 3, 12);
    expect(out.meanLoss).toBeCloseTo((1000 * 0.1 + 100 * 0.2) / 1100, 12);
  });

  it("counts at most twice a bank's examples as trained rows (an inflated numTrained cannot scale the step)", () => {
    const global = new Float32Array([1, -1, 0.5]);
    const c: RoundContext = { roundId: 1, global, config: cfg(2, 50), rng: createRng(1) };
    const run = (numTrained: number) => {
      const agg = new FedAvg({ normalizeSteps: true }).beginAggregation(c, [cand('big', 1000), cand('small', 100)]);
      agg.add({ bankId: 'big', numExamples: 1000, loss: 0.1, delta: new Float32Array([2, 0, -1]) });
      agg.add({ bankId: 'small', numExamples: 100, numTrained, loss: 0.2, delta: new Float32Array([0, 4, 1]) });
      return Array.from(agg.finish().weights);
    };
    expect(run(1e9)).toEqual(run(200));
    expect(run(200)).not.toEqual(run(150));
  });

  it('makes each bank move the model in proportion to its data, whatever its step count', () => {
    // Two banks whose every local step is the same unit vector: the bank with 10× the
    // rows took 10× the steps. Plain FedAvg weights the 10× longer delta by 10× the
    // examples as well (influence ∝ n²: 100 : 1); normalised, the step is the
    // example-weighted mean per-step direction times the mean step count (∝ n: 10 : 1).
    const global = new Float32Array(2);
    const c: RoundContext = { roundId: 1, global, config: cfg(1, 10), rng: createRng(1) };
    const sel = [cand('big', 1000), cand('small', 100)];
    const run = (s: FedAvg) => {
      const agg = s.beginAggregation(c, sel);
      agg.add({ bankId: 'big', numExamples: 1000, loss: 0, delta: new Float32Array([100, 0]) }); // 100 steps
      agg.add({ bankId: 'small', numExamples: 100, loss: 0, delta: new Float32Array([0, 10]) }); // 10 steps
      return agg.finish();
    };
    const plain = run(new FedAvg());
    expect(plain.weights[0]! / plain.weights[1]!).toBeCloseTo(100, 4);
    const nova = run(new FedAvg({ normalizeSteps: true }));
    expect(nova.weights[0]! / nova.weights[1]!).toBeCloseTo(10, 4);
    expect(nova.bankWeights).toEqual({ big: 0.5, small: 0.5 });
  });

  it('is plain FedAvg, bit for bit, when every bank takes the same number of steps', () => {
    const dim = 64;
    const rng = createRng(5);
    const global = Float32Array.from({ length: dim }, () => rng.normal());
    const counts = [300, 280, 250];
    const c: RoundContext = { roundId: 1, global, config: cfg(3, 100), rng: createRng(1) }; // τ = 9 for all
    const updates = randomUpdates(8, dim, counts);
    const outs = [new FedAvg(), new FedAvg({ normalizeSteps: true })].map((s) => {
      const agg = s.beginAggregation(
        c,
        counts.map((n, b) => cand(`b${b}`, n)),
      );
      for (const u of updates) agg.add(u);
      return agg.finish();
    });
    for (let i = 0; i < dim; i++) expect(outs[1]!.weights[i]).toBeCloseTo(outs[0]!.weights[i]!, 6);
  });

  it('validates numTrained and refuses to combine with a share cap', () => {
    const agg = new FedAvg({ normalizeSteps: true }).beginAggregation(ctx(new Float32Array(1)), [cand('a', 10)]);
    for (const numTrained of [0, 2.5, NaN])
      expect(() => agg.add({ bankId: 'a', numExamples: 10, numTrained, loss: 0, delta: new Float32Array(1) })).toThrow(
        /numTrained/,
      );
    expect(agg.count).toBe(0);
    expect(() => new FedAvg({ normalizeSteps: true, maxShare: 0.15 })).toThrow(/maxShare 1/);
    // Reporting fewer trained rows than examples does not shrink a bank's step count.
    const c: RoundContext = { roundId: 1, global: new Float32Array(1), config: cfg(1, 10), rng: createRng(1) };
    const two = new FedAvg({ normalizeSteps: true }).beginAggregation(c, [cand('honest', 100), cand('liar', 100)]);
    two.add({ bankId: 'honest', numExamples: 100, loss: 0, delta: new Float32Array([10]) });
    two.add({ bankId: 'liar', numExamples: 100, numTrained: 1, loss: 0, delta: new Float32Array([10]) });
    const out = two.finish();
    expect(out.bankWeights.liar).toBeCloseTo(0.5, 12);
    expect(out.weights[0]).toBeCloseTo(10, 5);
    expect(new FedAvg({ normalizeSteps: true, maxShare: 1 }).normalizeSteps).toBe(true);
  });
});

describe('FedAvg server optimiser (server learning rate, FedAvgM)', () => {
  const sel = [cand('a', 1), cand('b', 3)];
  /** One round: both banks send `d`; returns the outcome. */
  const round = (s: FedAvg, global: Float32Array, d: number[], roundId = 1) => {
    const agg = s.beginAggregation({ roundId, global, config, rng: createRng(roundId) }, sel);
    agg.add({ bankId: 'a', numExamples: 1, loss: 0, delta: Float32Array.from(d) });
    agg.add({ bankId: 'b', numExamples: 3, loss: 0, delta: Float32Array.from(d) });
    return agg.finish();
  };

  it('scales the averaged delta by the server learning rate', () => {
    const out = round(new FedAvg({ serverLearningRate: 0.25 }), new Float32Array([1, 2]), [4, -8]);
    expect(Array.from(out.weights)).toEqual([2, 0]);
    expect(out.bankWeights).toEqual({ a: 0.25, b: 0.75 });
  });

  it('keeps a velocity across committed rounds: v ← βv + Δ, w ← w + ηv', () => {
    const s = new FedAvg({ serverMomentum: 0.5, serverLearningRate: 2 });
    let w: Float32Array = new Float32Array([0]);
    const seen: number[] = [];
    for (let r = 1; r <= 4; r++) {
      w = round(s, w, [1], r).weights; // the federation commits: the candidate becomes the global model
      seen.push(w[0]!);
    }
    // v = 1, 1.5, 1.75, 1.875 → w = 2, 5, 8.5, 12.25
    expect(seen).toEqual([2, 5, 8.5, 12.25]);
    // A copy of the committed model (e.g. re-read from the store) continues the same velocity.
    expect(round(s, Float32Array.from(w), [0], 5).weights[0]).toBe(12.25 + 2 * 0.9375);
  });

  it('forgets the velocity of a round that did not commit, and resets on a foreign model', () => {
    const s = new FedAvg({ serverMomentum: 0.5 });
    const w1 = round(s, new Float32Array([0]), [1], 1).weights; // v = 1, w1 = 1
    round(s, w1, [10], 2); // v would be 10.5, but round 2 fails: the global stays w1
    const w3 = round(s, w1, [1], 3).weights; // continues from v = 1: v = 1.5
    expect(w3[0]).toBe(2.5);
    // A model this strategy did not produce (restored, replaced by an admin): no momentum.
    expect(round(s, new Float32Array([100]), [1], 4).weights[0]).toBe(101);
  });

  it('applies the same server step to a mean unmasked elsewhere (secure aggregation) as to its updates', () => {
    // Two strategies, one fed the updates, one only their weighted mean (what secure aggregation
    // unmasks): the velocity and the committed models must agree round after round.
    const plain = new FedAvg({ serverMomentum: 0.7, serverLearningRate: 0.3 });
    const secure = new FedAvg({ serverMomentum: 0.7, serverLearningRate: 0.3 });
    let a: Float32Array = new Float32Array([0.5, -1]);
    let b: Float32Array = Float32Array.from(a);
    for (let r = 1; r <= 5; r++) {
      const deltas = [new Float32Array([r, -2 * r]), new Float32Array([0.5, 3])];
      const agg = plain.beginAggregation(ctx(a), [cand('x', 1), cand('y', 3)]);
      agg.add({ bankId: 'x', numExamples: 1, loss: 0, delta: deltas[0]! });
      agg.add({ bankId: 'y', numExamples: 3, loss: 0, delta: deltas[1]! });
      a = agg.finish().weights;
      const mean = [0, 1].map((j) => (1 * deltas[0]![j]! + 3 * deltas[1]![j]!) / 4);
      b = secure.applyMeanStep(b, mean);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    // Without momentum it is global + η·mean, and a step of the wrong length is refused.
    expect(Array.from(new FedAvg({ serverLearningRate: 2 }).applyMeanStep(new Float32Array([1]), [0.25]))).toEqual([
      1.5,
    ]);
    expect(() => secure.applyMeanStep(b, [1])).toThrow(/mean step has 1 values, the model has 2/);
  });

  it('keeps its state O(model size) and never holds on to a delta', () => {
    const s = new FedAvg({ serverMomentum: 0.9, serverLearningRate: 0.5 });
    const dim = 50_000;
    let w: Float32Array = new Float32Array(dim);
    const buffer = new Float32Array(dim);
    for (let r = 1; r <= 3; r++) {
      const agg = s.beginAggregation({ roundId: r, global: w, config, rng: createRng(r) }, sel);
      buffer.fill(1);
      agg.add({ bankId: 'a', numExamples: 1, loss: 0, delta: buffer });
      buffer.fill(3); // reused in place: the accumulator must already have folded the first delta in
      agg.add({ bankId: 'b', numExamples: 3, loss: 0, delta: buffer });
      w = agg.finish().weights;
    }
    // Δ = 2.5 each round; v = 2.5, 4.75, 6.775; w = 0.5 Σ v = 7.0125.
    expect(w[0]).toBeCloseTo(7.0125, 5);
    expect(w[dim - 1]).toBeCloseTo(7.0125, 5);
  });

  it('validates its options (constructor and createStrategy)', () => {
    for (const serverLearningRate of [0, -1, 11, NaN])
      expect(() => new FedAvg({ serverLearningRate })).toThrow(/serverLearningRate/);
    for (const serverMomentum of [-0.1, 1, NaN]) expect(() => new FedAvg({ serverMomentum })).toThrow(/serverMomentum/);
    const s = createStrategy('fedavg', {
      normalizeSteps: true,
      serverLearningRate: 0.3,
      serverMomentum: 0.5,
    }) as FedAvg;
    expect([s.normalizeSteps, s.serverLearningRate, s.serverMomentum]).toEqual([true, 0.3, 0.5]);
    expect(() => createStrategy('fedavg', { serverLearningRate: 0 })).toThrow(/invalid options/);
    expect(() => createStrategy('fedavg', { serverMomentum: 1 })).toThrow(/invalid options/);
    expect(() => createStrategy('fedavg', { normalizeSteps: 'yes' })).toThrow(/invalid options/);
  });
});

describe('FedAvg loss weighting (q-FFL)', () => {
  it('weights each bank by nᵢ · Lᵢ^q, on top of step normalisation', () => {
    const global = new Float32Array([0, 0]);
    const c: RoundContext = { roundId: 1, global, config: { ...config, epochs: 1, batchSize: 10 }, rng: createRng(1) };
    const sel = [cand('rich', 100), cand('poor', 400)];
    const run = (s: FedAvg) => {
      const agg = s.beginAggregation(c, sel);
      agg.add({ bankId: 'rich', numExamples: 100, loss: 0.64, delta: new Float32Array([10, 0]) }); // τ = 10
      agg.add({ bankId: 'poor', numExamples: 400, loss: 0.01, delta: new Float32Array([0, 40]) }); // τ = 40
      return agg.finish();
    };
    // q = 0.5: weights 100·0.8 = 80 and 400·0.1 = 40, so p = 2/3, 1/3; τ_eff = 2/3·10 + 1/3·40 = 20.
    const out = run(new FedAvg({ normalizeSteps: true, lossExponent: 0.5 }));
    expect(out.weights[0]).toBeCloseTo(20 * (2 / 3) * (10 / 10), 5);
    expect(out.weights[1]).toBeCloseTo(20 * (1 / 3) * (40 / 40), 5);
    // Shares of the step (pᵢ/τᵢ normalised): (2/3)/10 : (1/3)/40 = 8 : 1.
    expect(out.bankWeights.rich).toBeCloseTo(8 / 9, 12);
    // q = 0 is step-normalised FedAvg: p = 1/5, 4/5, shares (1/5)/10 : (4/5)/40 = 1 : 1.
    const plain = run(new FedAvg({ normalizeSteps: true }));
    expect(plain.bankWeights.rich).toBeCloseTo(1 / 2, 12);
    // The reported mean loss stays example-weighted.
    expect(out.meanLoss).toBeCloseTo((100 * 0.64 + 400 * 0.01) / 500, 12);
  });

  it('without step normalisation: weights nᵢ · Lᵢ^q; a zero loss keeps a tiny weight', () => {
    const global = new Float32Array([1]);
    const agg = new FedAvg({ lossExponent: 1 }).beginAggregation(ctx(global), [cand('a', 10), cand('b', 10)]);
    agg.add({ bankId: 'a', numExamples: 10, loss: 0.3, delta: new Float32Array([1]) });
    agg.add({ bankId: 'b', numExamples: 10, loss: 0, delta: new Float32Array([-1]) });
    const out = agg.finish();
    expect(out.bankWeights.a).toBeCloseTo(1, 6);
    expect(out.bankWeights.b).toBeGreaterThan(0);
    expect(out.weights[0]).toBeCloseTo(2, 5);
    // An absurd loss counts as 1: 'huge' (1e6) weighs 2× 'a' at 0.5.
    const agg2 = new FedAvg({ lossExponent: 1 }).beginAggregation(ctx(global), [cand('a', 10), cand('huge', 10)]);
    agg2.add({ bankId: 'a', numExamples: 10, loss: 0.5, delta: new Float32Array([0]) });
    agg2.add({ bankId: 'huge', numExamples: 10, loss: 1e6, delta: new Float32Array([3]) });
    expect(agg2.finish().bankWeights.huge).toBeCloseTo(2 / 3, 12);
  });

  it('validates the exponent and refuses negative losses when weighting by them', () => {
    for (const lossExponent of [-0.5, 5, NaN]) expect(() => new FedAvg({ lossExponent })).toThrow(/lossExponent/);
    expect(() => createStrategy('fedavg', { lossExponent: -1 })).toThrow(/invalid options/);
    expect((createStrategy('fedavg', { lossExponent: 0.5 }) as FedAvg).lossExponent).toBe(0.5);
    const agg = new FedAvg({ lossExponent: 0.5 }).beginAggregation(ctx(new Float32Array(1)), [cand('a', 1)]);
    expect(() => agg.add({ bankId: 'a', numExamples: 1, loss: -0.1, delta: new Float32Array(1) })).toThrow(
      /loss must be >= 0/,
    );
    // Without loss weighting a negative loss is not this strategy's business (validated upstream).
    const plain = new FedAvg().beginAggregation(ctx(new Float32Array(1)), [cand('a', 1)]);
    plain.add({ bankId: 'a', numExamples: 1, loss: -0.1, delta: new Float32Array([3]) });
    expect(plain.finish().weights[0]).toBe(3);
  });
});
