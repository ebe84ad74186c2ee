/** Shared by the strategy-robust-*.test.ts files: run one round of a strategy on given updates. */
import { createRng } from '../src/rng/index.js';
import type { AggregationOutcome, BankCandidate, RoundContext, Strategy } from '../src/strategy/index.js';
import type { TrainingConfig } from '../src/protocol/messages.js';

export const config: TrainingConfig = {
  epochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  smoteRatio: 0,
  smoteK: 5,
  updateEncoding: 'float32',
};

export function ctx(global: Float32Array, roundId = 1): RoundContext {
  return { roundId, global, config, rng: createRng(1) };
}

/** One update: bank id, delta values, example count (default 1), loss (default 0.5). */
export type U = [bankId: string, delta: number[], numExamples?: number, loss?: number];

/** Runs beginAggregation → add (in the given order) → finish over `global`. */
export function aggregate(strategy: Strategy, global: number[] | Float32Array, updates: U[]): AggregationOutcome {
  const g = global instanceof Float32Array ? global : Float32Array.from(global);
  const selected: BankCandidate[] = updates.map(([bankId, , n = 1]) => ({ bankId, numExamples: n }));
  const agg = strategy.beginAggregation(ctx(g), selected);
  for (const [bankId, delta, numExamples = 1, loss = 0.5] of updates)
    agg.add({ bankId, delta: Float32Array.from(delta), numExamples, loss });
  return agg.finish();
}

/** 1-D updates a, b, c, … with the given values. */
export function scalars(...values: number[]): U[] {
  return values.map((v, i) => [`bank-${String.fromCharCode(97 + i)}`, [v]]);
}

export function close(actual: ArrayLike<number>, expected: number[], digits = 6): void {
  const a = Array.from(actual);
  if (a.length !== expected.length) throw new Error(`length ${a.length} != ${expected.length}`);
  a.forEach((x, i) => {
    if (!(Math.abs(x - expected[i]!) < 0.5 * 10 ** -digits))
      throw new Error(`value ${i}: ${x} is not ${expected[i]} (to ${digits} digits)`);
  });
}
