/**
 * Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with
 * Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017).
 *
 * With n updates of which at most f are Byzantine (arbitrary), each update i gets the
 * score s(i) = Σ ‖Δᵢ − Δⱼ‖² over its n − f − 2 nearest other updates j. An honest update
 * sits among the other honest ones, so its score is small; a hostile one far from them
 * pays for its distance n − f − 2 times. Krum keeps the update with the lowest score;
 * Multi-Krum keeps the m lowest and averages them, here weighted by example count as
 * FedAvg is. Needs n ≥ 2f + 3 (the paper's 2f + 2 < n).
 *
 * Cost: the n(n − 1)/2 pairwise distances, O(n² d) time in float64, plus an n × n
 * distance matrix; the accumulator buffers every update (n × d float32, 4 bytes each).
 * Ties (equal scores) go to the bank whose id sorts first.
 */
import { selectBanks } from './selection.js';
import {
  BufferedAggregation,
  squaredDistance,
  weightedMean,
  type BufferedRound,
  type RobustDecision,
} from './buffered.js';
import type { Aggregation, BankCandidate, BankDiagnostic, FitInstruction, RoundContext, Strategy } from './types.js';

export interface KrumOptions {
  /** f: the number of Byzantine banks to tolerate, an integer ≥ 0. Needs n ≥ 2f + 3 updates. */
  byzantineF: number;
  /**
   * Multi-Krum: how many of the lowest-scored updates to average, 1 ≤ m ≤ n − f.
   * 1 is Krum; 0 (Multi-Krum's default) means n − f, every update but f.
   */
  multiKrumM?: number;
}

/** Fewest updates Krum can score with f Byzantine banks: 2f + 3. */
export function krumMinUpdates(f: number): number {
  return 2 * f + 3;
}

/** All pairwise squared distances (symmetric n × n, row-major, zero diagonal), float64. */
export function pairwiseSquaredDistances(deltas: Float32Array[]): Float64Array {
  const n = deltas.length;
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const d = squaredDistance(deltas[i]!, deltas[j]!);
      dist[i * n + j] = d;
      dist[j * n + i] = d;
    }
  return dist;
}

/**
 * Krum scores of the `active` updates (indices into the n × n matrix `dist`): the sum of
 * each one's squared distances to its max(0, |active| − f − 2) nearest other active
 * updates. Returned in the order of `active`.
 */
export function krumScores(dist: Float64Array, n: number, active: readonly number[], f: number): Float64Array {
  const k = Math.max(0, active.length - f - 2);
  const scores = new Float64Array(active.length);
  const row = new Float64Array(Math.max(0, active.length - 1));
  active.forEach((i, a) => {
    let r = 0;
    for (const j of active) if (j !== i) row[r++] = dist[i * n + j]!;
    row.sort();
    let s = 0;
    for (let q = 0; q < k; q++) s += row[q]!;
    scores[a] = s;
  });
  return scores;
}

/** Positions (into `scores`) of the m lowest scores, ties to the lower position. */
export function lowestScores(scores: Float64Array, m: number): number[] {
  return Array.from(scores.keys())
    .sort((a, b) => scores[a]! - scores[b]! || a - b)
    .slice(0, m);
}

export class Krum implements Strategy {
  readonly name: string = 'krum';
  readonly byzantineF: number;
  /** 1 for Krum; 0 = n − f. */
  readonly multiKrumM: number;

  constructor(options: KrumOptions) {
    const { byzantineF, multiKrumM = 1 } = options;
    if (!(Number.isInteger(byzantineF) && byzantineF >= 0))
      throw new Error(`byzantineF must be an integer >= 0, got ${byzantineF}`);
    if (!(Number.isInteger(multiKrumM) && multiKrumM >= 0))
      throw new Error(`multiKrumM must be an integer >= 0 (0 = n - f), got ${multiKrumM}`);
    this.byzantineF = byzantineF;
    this.multiKrumM = multiKrumM;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    return new KrumAggregation(
      ctx.roundId,
      ctx.global,
      new Set(selected.map((c) => c.bankId)),
      this.name,
      this.byzantineF,
      this.multiKrumM,
    );
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }
}

/** Multi-Krum: Krum keeping the m lowest-scored updates (default m = n − f). */
export class MultiKrum extends Krum {
  override readonly name: string = 'multikrum';

  constructor(options: KrumOptions) {
    super({ byzantineF: options.byzantineF, multiKrumM: options.multiKrumM ?? 0 });
  }
}

class KrumAggregation extends BufferedAggregation {
  constructor(
    roundId: number,
    global: Float32Array,
    selected: ReadonlySet<string>,
    private readonly name: string,
    private readonly f: number,
    private readonly m: number,
  ) {
    super(roundId, global, selected);
  }

  protected decide(round: BufferedRound): RobustDecision {
    const n = round.ids.length;
    const f = this.f;
    if (n < krumMinUpdates(f))
      throw new Error(
        `${this.name} with byzantineF = ${f} needs at least 2f + 3 = ${krumMinUpdates(f)} updates, got ${n}`,
      );
    const m = this.m === 0 ? n - f : this.m;
    if (m > n - f)
      throw new Error(`${this.name}: multiKrumM = ${m} exceeds n - f = ${n - f} (${n} updates, byzantineF = ${f})`);
    const dist = pairwiseSquaredDistances(round.deltas);
    const all = Array.from({ length: n }, (_, i) => i);
    const scores = krumScores(dist, n, all, f);
    const chosen = lowestScores(scores, m);
    const kept = new Set(chosen);
    let total = 0;
    for (const b of chosen) total += round.numExamples[b]!;
    const weights = all.map((b) => (kept.has(b) ? round.numExamples[b]! / total : 0));
    const diagnostics: BankDiagnostic[] = all.map((b) =>
      kept.has(b)
        ? { score: scores[b]! }
        : {
            score: scores[b]!,
            excluded: `${this.name} score ${scores[b]!.toPrecision(4)} is not among the ${m} lowest of ${n} (byzantineF = ${f})`,
          },
    );
    return { step: weightedMean(round.deltas, round.numExamples, chosen), weights, diagnostics };
  }
}
