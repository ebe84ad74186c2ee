/**
 * What the robust strategies (Krum, Multi-Krum, Bulyan, trimmed mean, centered clipping
 * with several iterations) share: they need every update of the round at once, so their
 * accumulator copies each validated delta (banks × model float32 values, 4 bytes each)
 * and decides in `finish`. Updates are processed in bank-id order, not arrival order, so
 * the result (ties included) depends only on the updates, never on network timing.
 */
import { validateFitResult } from './fedavg.js';
import { addStatistics } from './statistics.js';
import type { Aggregation, AggregationOutcome, BankDiagnostic, FitResult } from './types.js';

/** The round's updates in bank-id order. */
export interface BufferedRound {
  ids: string[];
  deltas: Float32Array[];
  numExamples: number[];
  losses: number[];
}

/** What a robust rule decides from the round's updates. */
export interface RobustDecision {
  /** The aggregated delta (model length), added to the global model. */
  step: ArrayLike<number>;
  /** Weight per bank (index as in BufferedRound), ≥ 0, summing to 1; 0 = excluded. */
  weights: number[];
  diagnostics: (BankDiagnostic | undefined)[];
}

export abstract class BufferedAggregation implements Aggregation {
  /** Copies: the caller may reuse its buffers after add() returns. */
  private readonly updates = new Map<string, FitResult>();
  private finished = false;

  constructor(
    protected readonly roundId: number,
    /** Not copied: the caller must not modify the global weights until finish(). */
    protected readonly global: Float32Array,
    private readonly selected: ReadonlySet<string>,
  ) {}

  get count(): number {
    return this.updates.size;
  }

  add(r: FitResult): void {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    validateFitResult(r, this.global.length, this.selected, this.updates);
    this.updates.set(r.bankId, { ...r, delta: Float32Array.from(r.delta) });
  }

  /** Throws (with the strategy's message) when the round cannot be aggregated. */
  protected abstract decide(round: BufferedRound): RobustDecision;

  finish(): AggregationOutcome {
    if (this.updates.size === 0)
      throw new Error(`round ${this.roundId}: no bank contributed an update, nothing to aggregate`);
    this.finished = true;
    const ids = [...this.updates.keys()].sort();
    const list = ids.map((id) => this.updates.get(id)!);
    const round: BufferedRound = {
      ids,
      deltas: list.map((u) => u.delta),
      numExamples: list.map((u) => u.numExamples),
      losses: list.map((u) => u.loss),
    };
    const { step, weights: w, diagnostics } = this.decide(round);
    const g = this.global;
    const weights = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) weights[i] = g[i]! + step[i]!;
    const out = outcome(round, w, diagnostics, weights);
    // Reputation statistics against the step actually applied (statistics.ts): no extra memory.
    out.diagnostics = addStatistics(out.diagnostics ?? {}, ids, round.deltas, step);
    return out;
  }
}

/**
 * The outcome of a robust rule: bankWeights for every bank (excluded ones 0), the mean
 * training loss over the banks that kept a weight (example-weighted), and diagnostics.
 */
export function outcome(
  round: Pick<BufferedRound, 'ids' | 'numExamples' | 'losses'>,
  w: number[],
  diagnostics: (BankDiagnostic | undefined)[],
  weights: Float32Array,
): AggregationOutcome {
  const bankWeights: Record<string, number> = {};
  const diag: Record<string, BankDiagnostic> = {};
  let lossSum = 0;
  let examples = 0;
  let contributors = 0;
  round.ids.forEach((id, b) => {
    bankWeights[id] = w[b]!;
    if (diagnostics[b]) diag[id] = diagnostics[b];
    if (w[b]! > 0) {
      contributors++;
      lossSum += round.numExamples[b]! * round.losses[b]!;
      examples += round.numExamples[b]!;
    }
  });
  return {
    weights,
    bankWeights,
    meanLoss: examples > 0 ? lossSum / examples : NaN,
    numContributors: contributors,
    diagnostics: diag,
  };
}

/** Squared L2 distance of two equal-length vectors, accumulated in float64. */
export function squaredDistance(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const n4 = n - (n % 4);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  // Four independent sums and the length read once (see validateFitResult in fedavg.ts).
  for (; i < n4; i += 4) {
    const d0 = a[i]! - b[i]!;
    const d1 = a[i + 1]! - b[i + 1]!;
    const d2 = a[i + 2]! - b[i + 2]!;
    const d3 = a[i + 3]! - b[i + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < n; i++) {
    const d = a[i]! - b[i]!;
    s0 += d * d;
  }
  return s0 + s1 + s2 + s3;
}

/** Example-weighted mean of the chosen deltas, in float64: Σ nᵢ Δᵢ / Σ nᵢ. */
export function weightedMean(deltas: Float32Array[], numExamples: number[], chosen: number[]): Float64Array {
  const out = new Float64Array(deltas[0]!.length);
  let total = 0;
  for (const b of chosen) total += numExamples[b]!;
  for (const b of chosen) {
    const f = numExamples[b]! / total;
    const d = deltas[b]!;
    for (let i = 0; i < out.length; i++) out[i] += f * d[i]!;
  }
  return out;
}

/** Median of a sorted numeric array (mean of the two middle values for an even length). */
export function sortedMedian(sorted: ArrayLike<number>, n = sorted.length): number {
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
