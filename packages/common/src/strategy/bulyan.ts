/**
 * Bulyan (El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of Distributed
 * Learning in Byzantium", ICML 2018), over Krum (Blanchard et al. 2017).
 *
 * 1. Selection: θ = n − 2f times, run Krum on the updates not yet selected (scores over
 *    each one's |remaining| − f − 2 nearest, the distances computed once) and move the
 *    winner into the selection set.
 * 2. Aggregation: for every coordinate, the mean of the β = θ − 2f selected values
 *    closest to their median.
 * Needs n ≥ 4f + 3 updates; fewer are refused. Each selected bank's weight is its share
 * of kept values (example counts are not used, as in the paper); unselected banks get 0.
 *
 * Memory: every update buffered (n × d float32) plus the n × n distance matrix; time
 * O(n² d) for the distances, O(n² log n + θ n²) for the selection, O(d · θ log θ) for stage 2.
 * Ties go to the bank whose id sorts first (selection) or to the lower value (stage 2).
 */
import { selectBanks } from './selection.js';
import { BufferedAggregation, type BufferedRound, type RobustDecision } from './buffered.js';
import { closestToMedianWindow, windowedMean } from './coordinate.js';
import { krumScores, pairwiseSquaredDistances } from './krum.js';
import type { Aggregation, BankCandidate, BankDiagnostic, FitInstruction, RoundContext, Strategy } from './types.js';

export interface BulyanOptions {
  /** f: the number of Byzantine banks to tolerate, an integer ≥ 0. Needs n ≥ 4f + 3 updates. */
  byzantineF: number;
}

/** Fewest updates Bulyan accepts with f Byzantine banks: 4f + 3. */
export function bulyanMinUpdates(f: number): number {
  return 4 * f + 3;
}

export class Bulyan implements Strategy {
  readonly name: string = 'bulyan';
  readonly byzantineF: number;

  constructor(options: BulyanOptions) {
    const { byzantineF } = options;
    if (!(Number.isInteger(byzantineF) && byzantineF >= 0))
      throw new Error(`byzantineF must be an integer >= 0, got ${byzantineF}`);
    this.byzantineF = byzantineF;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    return new BulyanAggregation(ctx.roundId, ctx.global, new Set(selected.map((c) => c.bankId)), this.byzantineF);
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }
}

class BulyanAggregation extends BufferedAggregation {
  constructor(
    roundId: number,
    global: Float32Array,
    selected: ReadonlySet<string>,
    private readonly f: number,
  ) {
    super(roundId, global, selected);
  }

  protected decide(round: BufferedRound): RobustDecision {
    const n = round.ids.length;
    const f = this.f;
    if (n < bulyanMinUpdates(f))
      throw new Error(`bulyan with byzantineF = ${f} needs at least 4f + 3 = ${bulyanMinUpdates(f)} updates, got ${n}`);
    const theta = n - 2 * f;
    const beta = theta - 2 * f;
    const dist = pairwiseSquaredDistances(round.deltas);
    const firstScores = krumScores(
      dist,
      n,
      Array.from({ length: n }, (_, i) => i),
      f,
    );
    // Each update's others, nearest first (ties by position), sorted once: a Krum round over
    // the remaining set then sums the first |remaining| − f − 2 still-remaining entries,
    // O(n) per update instead of a sort, so the θ rounds cost O(n³), not O(n³ log n).
    const nearest = Array.from({ length: n }, (_, i) => {
      const others = Array.from({ length: n - 1 }, (_, q) => (q < i ? q : q + 1));
      return Int32Array.from(others.sort((a, b) => dist[i * n + a]! - dist[i * n + b]! || a - b));
    });
    const remaining = new Uint8Array(n).fill(1);
    let left = n;
    const chosen: number[] = [];
    while (chosen.length < theta) {
      const k = Math.max(0, left - f - 2);
      let best = -1;
      let bestScore = Infinity;
      for (let i = 0; i < n; i++) {
        if (!remaining[i]) continue;
        let s = 0;
        const row = nearest[i]!;
        for (let q = 0, taken = 0; taken < k; q++) {
          const j = row[q]!;
          if (!remaining[j]) continue;
          s += dist[i * n + j]!;
          taken++;
        }
        if (s < bestScore) {
          bestScore = s;
          best = i;
        }
      }
      chosen.push(best);
      remaining[best] = 0;
      left--;
    }
    chosen.sort((a, b) => a - b); // bank-id order for the coordinate-wise stage
    const { step, weights: w } = windowedMean(
      chosen.map((b) => round.deltas[b]!),
      closestToMedianWindow(beta),
    );
    const weights = new Array<number>(n).fill(0);
    chosen.forEach((b, k) => (weights[b] = w[k]!));
    const selected = new Set(chosen);
    const diagnostics = Array.from({ length: n }, (_, b): BankDiagnostic => {
      const score = firstScores[b]!;
      if (!selected.has(b))
        return { score, excluded: `bulyan: not among the θ = ${theta} updates Krum selected (byzantineF = ${f})` };
      if (weights[b] === 0)
        return {
          score,
          excluded: `bulyan: no coordinate of this update was among the β = ${beta} closest to the median`,
        };
      return { score };
    });
    return { step, weights, diagnostics };
  }
}
