/**
 * Centered clipping (Karimireddy, He, Jaggi, "Learning from History for Byzantine Robust
 * Optimization", ICML 2021). Starting from v₀ = the previous round's aggregated delta
 * (the paper's momentum: honest updates change slowly from round to round), L times:
 *
 *     v_{l+1} = v_l + (1/n) Σᵢ (Δᵢ − v_l) · min(1, τ / ‖Δᵢ − v_l‖)
 *
 * so no bank can move the aggregate by more than τ/n per iteration however large its
 * update, while updates within τ of the centre are averaged unchanged. Banks count
 * equally (as in the paper), not by example count. The first round starts from v₀ = 0,
 * which clips every update's norm to τ.
 *
 * State: v (one model-size Float64Array) is kept in this strategy object, like FedAvg's
 * server momentum: not persisted, restarted from zero when the aggregator restarts or a
 * round starts from a model this strategy did not produce.
 * Memory: with L = 1 the accumulator is a running sum (O(d), like FedAvg: the centre is
 * known before the first update arrives); with L > 1 it also buffers every update
 * (n × d float32).
 */
import { selectBanks } from './selection.js';
import { validateFitResult } from './fedavg.js';
import { outcome } from './buffered.js';
import type {
  Aggregation,
  AggregationOutcome,
  BankCandidate,
  BankDiagnostic,
  FitInstruction,
  FitResult,
  RoundContext,
  Strategy,
} from './types.js';

export interface CenteredClippingOptions {
  /** τ > 0: clipping radius around the centre, in the L2 norm of a delta. */
  clipRadius: number;
  /** L: clipping iterations per round, integer in [1, 100]. Default 1. */
  clipIterations?: number;
}

function sameWeights(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Centre {
  v: Float64Array;
  produced: Float32Array;
}

export class CenteredClipping implements Strategy {
  readonly name: string = 'centered-clipping';
  readonly clipRadius: number;
  readonly clipIterations: number;
  /** The centre for the next round and the global model it produced (see FedAvg's momentum). */
  private centre: Centre | null = null;
  private pending: Centre | null = null;

  constructor(options: CenteredClippingOptions) {
    const { clipRadius, clipIterations = 1 } = options;
    if (!(clipRadius > 0 && Number.isFinite(clipRadius)))
      throw new Error(`clipRadius must be a finite number > 0, got ${clipRadius}`);
    if (!(Number.isInteger(clipIterations) && clipIterations >= 1 && clipIterations <= 100))
      throw new Error(`clipIterations must be an integer in [1, 100], got ${clipIterations}`);
    this.clipRadius = clipRadius;
    this.clipIterations = clipIterations;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    return new CenteredClippingAggregation(
      ctx.roundId,
      ctx.global,
      new Set(selected.map((c) => c.bankId)),
      this.centreFor(ctx.global),
      this.clipRadius,
      this.clipIterations,
      (centre) => {
        this.pending = centre;
      },
    );
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }

  /** The last aggregate if its candidate became `global`, the one before if that round failed, else zero. */
  private centreFor(global: Float32Array): Float64Array {
    if (this.pending && sameWeights(global, this.pending.produced)) this.centre = this.pending;
    this.pending = null;
    if (this.centre && !sameWeights(global, this.centre.produced)) this.centre = null;
    return this.centre?.v ?? new Float64Array(global.length);
  }
}

class CenteredClippingAggregation implements Aggregation {
  /** Σᵢ clip(Δᵢ − v₀), the first iteration as a running sum. */
  private readonly sum: Float64Array;
  private readonly banks = new Map<string, { numExamples: number; loss: number; scale: number; distance: number }>();
  /** Copies of the deltas, only when L > 1. */
  private readonly buffered = new Map<string, Float32Array>();
  private finished = false;

  constructor(
    private readonly roundId: number,
    private readonly global: Float32Array,
    private readonly selected: ReadonlySet<string>,
    /** v₀ (read only). */
    private readonly v0: Float64Array,
    private readonly tau: number,
    private readonly iterations: number,
    private readonly onCentre: (centre: Centre) => void,
  ) {
    this.sum = new Float64Array(global.length);
  }

  get count(): number {
    return this.banks.size;
  }

  add(r: FitResult): void {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    validateFitResult(r, this.global.length, this.selected, this.banks);
    const { scale, distance } = clipScale(r.delta, this.v0, this.tau);
    const d = r.delta;
    const v = this.v0;
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i] += scale * (d[i]! - v[i]!);
    this.banks.set(r.bankId, { numExamples: r.numExamples, loss: r.loss, scale, distance });
    if (this.iterations > 1) this.buffered.set(r.bankId, Float32Array.from(d));
  }

  finish(): AggregationOutcome {
    const n = this.banks.size;
    if (n === 0) throw new Error(`round ${this.roundId}: no bank contributed an update, nothing to aggregate`);
    this.finished = true;
    const ids = [...this.banks.keys()].sort();
    const v = Float64Array.from(this.v0);
    for (let i = 0; i < v.length; i++) v[i] += this.sum[i]! / n;
    let scales = ids.map((id) => this.banks.get(id)!.scale);
    let distances = ids.map((id) => this.banks.get(id)!.distance);
    for (let l = 1; l < this.iterations; l++) {
      const next = Float64Array.from(v);
      scales = [];
      distances = [];
      for (const id of ids) {
        const d = this.buffered.get(id)!;
        const c = clipScale(d, v, this.tau);
        scales.push(c.scale);
        distances.push(c.distance);
        for (let i = 0; i < next.length; i++) next[i] += (c.scale * (d[i]! - v[i]!)) / n;
      }
      v.set(next);
    }
    const g = this.global;
    const weights = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) weights[i] = g[i]! + v[i]!;
    this.onCentre({ v, produced: weights });
    // Each bank's pull on the last iteration, relative to the others' (sums to 1).
    const total = scales.reduce((a, b) => a + b, 0);
    const w = scales.map((c) => c / total);
    const diagnostics = ids.map((_, b): BankDiagnostic =>
      scales[b]! < 1 ? { clipScale: scales[b]!, distance: distances[b]! } : { distance: distances[b]! },
    );
    const round = {
      ids,
      numExamples: ids.map((id) => this.banks.get(id)!.numExamples),
      losses: ids.map((id) => this.banks.get(id)!.loss),
    };
    return outcome(round, w, diagnostics, weights);
  }
}

/** min(1, τ / ‖Δ − v‖) and the distance ‖Δ − v‖ (float64); a delta at the centre is not scaled. */
export function clipScale(delta: Float32Array, centre: Float64Array, tau: number): { scale: number; distance: number } {
  let s = 0;
  for (let i = 0; i < delta.length; i++) {
    const x = delta[i]! - centre[i]!;
    s += x * x;
  }
  const distance = Math.sqrt(s);
  return { scale: distance > tau ? tau / distance : 1, distance };
}
