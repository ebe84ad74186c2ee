/**
 * FedMedian (Yin et al. 2018): the new global model is the global model plus the
 * coordinate-wise median of the banks' deltas. Robust to a minority of banks sending
 * arbitrary updates, at the price of ignoring example counts and of BUFFERING every
 * delta (O(banks × model size) memory): a median cannot be computed from a running sum.
 * This is the shape robust strategies (trimmed mean, Krum) take behind the same
 * accumulator interface.
 */
import { selectBanks } from './selection.js';
import { validateFitResult } from './fedavg.js';
import { addStatistics, aggregateStep } from './statistics.js';
import type {
  Aggregation,
  AggregationOutcome,
  BankCandidate,
  FitInstruction,
  FitResult,
  RoundContext,
  Strategy,
} from './types.js';

export class FedMedian implements Strategy {
  readonly name: string = 'fedmedian';

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    return new MedianAggregation(ctx.roundId, ctx.global, new Set(selected.map((c) => c.bankId)));
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }
}

class MedianAggregation implements Aggregation {
  /** Copies: the caller may reuse its buffers after add() returns. */
  private readonly deltas = new Map<string, Float32Array>();
  private lossSum = 0;
  private examples = 0;
  private finished = false;

  constructor(
    private readonly roundId: number,
    private readonly global: Float32Array,
    private readonly selected: ReadonlySet<string>,
  ) {}

  get count(): number {
    return this.deltas.size;
  }

  add(r: FitResult): void {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    validateFitResult(r, this.global.length, this.selected, this.deltas);
    this.deltas.set(r.bankId, Float32Array.from(r.delta));
    this.lossSum += r.numExamples * r.loss;
    this.examples += r.numExamples;
  }

  finish(): AggregationOutcome {
    const n = this.deltas.size;
    if (n === 0) throw new Error(`round ${this.roundId}: no bank contributed an update, nothing to aggregate`);
    this.finished = true;
    const all = [...this.deltas.values()];
    const column = new Float64Array(n);
    const weights = new Float32Array(this.global.length);
    const mid = n >> 1;
    for (let i = 0; i < weights.length; i++) {
      for (let b = 0; b < n; b++) column[b] = all[b]![i]!;
      column.sort();
      const median = n % 2 === 1 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
      weights[i] = this.global[i]! + median;
    }
    // A median has no per-bank weight; report the nominal equal split.
    const bankWeights: Record<string, number> = {};
    for (const id of this.deltas.keys()) bankWeights[id] = 1 / n;
    const ids = [...this.deltas.keys()].sort();
    const diagnostics = addStatistics(
      {},
      ids,
      ids.map((id) => this.deltas.get(id)!),
      aggregateStep(weights, this.global),
    );
    return { weights, bankWeights, meanLoss: this.lossSum / this.examples, numContributors: n, diagnostics };
  }
}
