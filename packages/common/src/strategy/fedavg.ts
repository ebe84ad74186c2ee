/**
 * FedAvg (McMahan et al. 2017): the new global model is the global model plus the
 * example-weighted mean of the banks' deltas.
 *
 * Memory: the accumulator keeps ONE Float64Array running sum of weight × delta (the
 * model's size) plus a few numbers per bank. It never keeps a reference to a delta, so
 * the aggregator can drop (or reuse) each update buffer as soon as `add` returns, however
 * many banks report. Float64 so that summing thousands of float32 deltas loses nothing.
 *
 * Weights are the banks' real (pre-oversampling) example counts: SMOTE inflates the
 * number of rows a bank trains on, not the evidence it holds.
 */
import { selectBanks } from './selection.js';
import { shareCap } from './share-cap.js';
import type {
  Aggregation,
  AggregationOutcome,
  BankCandidate,
  FitInstruction,
  FitResult,
  RoundContext,
  Strategy,
} from './types.js';

export interface FedAvgOptions {
  /**
   * Cap on any one bank's share of the aggregation weight, in (0, 1]. The cap is set
   * per round from the example counts the SELECTED banks announced (see share-cap.ts),
   * and weights are then normalised over the banks that actually report. If selected
   * banks drop out, the remaining ones share the whole weight, so a capped bank can end
   * up slightly above `maxShare` in that round. Omitted: no cap (plain FedAvg).
   */
  maxShare?: number;
}

export class FedAvg implements Strategy {
  readonly name: string = 'fedavg';
  readonly maxShare: number | undefined;

  constructor(options: FedAvgOptions = {}) {
    const { maxShare } = options;
    if (maxShare !== undefined && !(maxShare > 0 && maxShare <= 1))
      throw new Error(`maxShare must be in (0, 1], got ${maxShare}`);
    this.maxShare = maxShare;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    const cap =
      this.maxShare === undefined
        ? Infinity
        : shareCap(
            selected.map((c) => c.numExamples),
            this.maxShare,
          );
    return new WeightedMeanAggregation(ctx.roundId, ctx.global, new Set(selected.map((c) => c.bankId)), cap);
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }
}

/**
 * Checks shared by every accumulator: the update belongs to a selected bank, is not a
 * duplicate, and carries a delta of the model's length with finite values and a
 * plausible example count. Throws with a message the aggregator can send back.
 */
export function validateFitResult(
  r: FitResult,
  modelLength: number,
  selected: { has(bankId: string): boolean },
  seen: { has(bankId: string): boolean },
): void {
  if (!selected.has(r.bankId)) throw new Error(`bank "${r.bankId}" was not selected for this round`);
  if (seen.has(r.bankId)) throw new Error(`duplicate update from bank "${r.bankId}"`);
  if (!(r.delta instanceof Float32Array)) throw new Error(`update from "${r.bankId}": delta must be a Float32Array`);
  if (r.delta.length !== modelLength)
    throw new Error(`update from "${r.bankId}" has ${r.delta.length} values, the model has ${modelLength}`);
  if (!(Number.isInteger(r.numExamples) && r.numExamples >= 1))
    throw new Error(`update from "${r.bankId}": numExamples must be an integer >= 1, got ${r.numExamples}`);
  if (!Number.isFinite(r.loss)) throw new Error(`update from "${r.bankId}": loss must be finite, got ${r.loss}`);
  // x * 0 is 0 for every finite x and NaN for NaN and ±Infinity, so one multiply-add per
  // value finds any bad value; only then is the slow search for its index done.
  const d = r.delta;
  let probe = 0;
  for (let i = 0; i < d.length; i++) probe += d[i]! * 0;
  if (probe !== 0) {
    const i = d.findIndex((x) => !Number.isFinite(x));
    throw new Error(`update from "${r.bankId}": value ${i} is ${d[i]}`);
  }
}

class WeightedMeanAggregation implements Aggregation {
  private readonly sum: Float64Array;
  /** Effective (capped) weight per contributing bank. */
  private readonly weights = new Map<string, number>();
  private lossSum = 0;
  private examples = 0;
  private finished = false;

  constructor(
    private readonly roundId: number,
    /** Not copied: the caller must not modify the global weights until finish(). */
    private readonly global: Float32Array,
    private readonly selected: ReadonlySet<string>,
    private readonly cap: number,
  ) {
    this.sum = new Float64Array(global.length);
  }

  get count(): number {
    return this.weights.size;
  }

  add(r: FitResult): void {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    // Validate fully before touching the sum, so a bad update cannot half-corrupt it.
    validateFitResult(r, this.global.length, this.selected, this.weights);
    const w = Math.min(r.numExamples, this.cap);
    const d = r.delta;
    const s = this.sum;
    for (let i = 0; i < d.length; i++) s[i] += w * d[i]!;
    this.weights.set(r.bankId, w);
    this.lossSum += r.numExamples * r.loss;
    this.examples += r.numExamples;
  }

  finish(): AggregationOutcome {
    if (this.weights.size === 0)
      throw new Error(`round ${this.roundId}: no bank contributed an update, nothing to aggregate`);
    this.finished = true;
    let total = 0;
    for (const w of this.weights.values()) total += w;
    const weights = new Float32Array(this.global.length);
    for (let i = 0; i < weights.length; i++) weights[i] = this.global[i]! + this.sum[i]! / total;
    const bankWeights: Record<string, number> = {};
    for (const [id, w] of this.weights) bankWeights[id] = w / total;
    return { weights, bankWeights, meanLoss: this.lossSum / this.examples, numContributors: this.weights.size };
  }
}
