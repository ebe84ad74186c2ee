/**
 * Coordinate-wise trimmed mean (Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust
 * Distributed Learning: Towards Optimal Statistical Rates", ICML 2018): for every
 * coordinate, sort the n banks' values, drop the t = ⌊β n⌋ largest and the t smallest,
 * and average the remaining n − 2t. Tolerates up to t hostile banks per coordinate. Like
 * the median it ignores example counts (a bank's weight is its share of kept values).
 *
 * Memory: the accumulator buffers every update (n × d float32, 4 bytes each); time
 * O(d · n log n). With fewer than 1/β updates, t = 0 and nothing is trimmed (the round
 * rules refuse a quorum that allows it). At least one value is always kept (n − 2t ≥ 1, as
 * in Yin et al.): see `trimCount`.
 */
import { selectBanks } from './selection.js';
import { BufferedAggregation, type BufferedRound, type RobustDecision } from './buffered.js';
import { trimWindow, windowedMean } from './coordinate.js';
import type { Aggregation, BankCandidate, BankDiagnostic, FitInstruction, RoundContext, Strategy } from './types.js';

export interface TrimmedMeanOptions {
  /** β in [0, 0.5): fraction of the values dropped from EACH end of every coordinate. */
  trimFraction: number;
}

/**
 * Relative slack under which β n counts as the integer it rounds to: binary floating point
 * is off by a few 1e-16 (0.29 × 100 is 28.999999999999996), a β that means to be below an
 * integer boundary is off by far more (0.4999999999 × 2 is 2e-10 short of 1).
 */
const TRIM_SLACK = 1e-12;

/**
 * ⌊β n⌋ as written, before the n − 2t ≥ 1 cap of `trimCount`: a product within rounding of an
 * integer counts as that integer. For β within rounding of 0.5 and even n it is n / 2 (every
 * value); the round rules refuse such a β at their quorum.
 */
export function nominalTrimCount(trimFraction: number, n: number): number {
  const x = trimFraction * n;
  const nearest = Math.round(x);
  return Math.abs(x - nearest) <= TRIM_SLACK * Math.abs(x) ? nearest : Math.floor(x);
}

/**
 * Values dropped from each end of a coordinate with n updates: t = ⌊β n⌋ (`nominalTrimCount`),
 * at most ⌊(n − 1) / 2⌋ so that n − 2t ≥ 1 values are always kept (Yin et al. 2018). For
 * β < 0.5 the exact ⌊β n⌋ is never above that bound: the cap only undoes the rounding slack.
 */
export function trimCount(trimFraction: number, n: number): number {
  return Math.max(0, Math.min(nominalTrimCount(trimFraction, n), Math.floor((n - 1) / 2)));
}

export class TrimmedMean implements Strategy {
  readonly name: string = 'trimmed-mean';
  readonly trimFraction: number;

  constructor(options: TrimmedMeanOptions) {
    const { trimFraction } = options;
    if (!(trimFraction >= 0 && trimFraction < 0.5))
      throw new Error(`trimFraction must be in [0, 0.5), got ${trimFraction}`);
    this.trimFraction = trimFraction;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    return new TrimmedMeanAggregation(
      ctx.roundId,
      ctx.global,
      new Set(selected.map((c) => c.bankId)),
      this.trimFraction,
    );
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }
}

class TrimmedMeanAggregation extends BufferedAggregation {
  constructor(
    roundId: number,
    global: Float32Array,
    selected: ReadonlySet<string>,
    private readonly beta: number,
  ) {
    super(roundId, global, selected);
  }

  protected decide(round: BufferedRound): RobustDecision {
    const n = round.ids.length;
    const t = trimCount(this.beta, n);
    const { step, weights } = windowedMean(round.deltas, trimWindow(t));
    const diagnostics = weights.map((w): BankDiagnostic | undefined =>
      w === 0
        ? { excluded: `trimmed-mean: every coordinate of this update was among the ${t} lowest or highest` }
        : undefined,
    );
    return { step, weights, diagnostics };
  }
}
