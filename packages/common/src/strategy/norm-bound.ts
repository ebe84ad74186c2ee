/**
 * Adaptive norm bound, for any strategy: an update whose L2 norm exceeds k × the median
 * norm of the round's updates is rejected (weight 0) or clipped to that norm before the
 * wrapped strategy sees it. Beside the fixed `maxUpdateNorm` (a sanity bound set once),
 * this follows the honest updates as they shrink over training, so a scaled update
 * (boosting, Bhagoji et al. 2019; model replacement, Bagdasaryan et al. 2020) cannot hide
 * under a bound sized for round 1. The median is robust: fewer than half the banks
 * cannot move it. Norm clipping as a defence: Sun et al., "Can You Really Backdoor
 * Federated Learning?" (2019).
 *
 * Memory: the median is known only when the last update arrived, so the accumulator
 * buffers every update (n × d float32, 4 bytes each) and hands them to the wrapped
 * strategy's accumulator in `finish`, releasing each as it goes. Over FedAvg or
 * centered clipping (L = 1) the total is n × d float32; over a strategy that buffers too
 * (Krum, Bulyan, trimmed mean, median) up to 2 × n × d float32 during the hand-over.
 */
import { validateFitResult } from './fedavg.js';
import { l2Norm } from '../dp/clip.js';
import { sortedMedian } from './buffered.js';
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

export type AdaptiveNormAction = 'reject' | 'clip';

export interface AdaptiveNormOptions {
  /** k ≥ 1: updates with norm > k × the round's median norm are rejected or clipped. */
  adaptiveNormK: number;
  /** 'reject' (weight 0, default) or 'clip' (scaled down to k × median). */
  adaptiveNormAction?: AdaptiveNormAction;
}

export class AdaptiveNormBound implements Strategy {
  readonly name: string;
  readonly k: number;
  readonly action: AdaptiveNormAction;

  constructor(
    readonly inner: Strategy,
    options: AdaptiveNormOptions,
  ) {
    const { adaptiveNormK, adaptiveNormAction = 'reject' } = options;
    if (!(adaptiveNormK >= 1 && Number.isFinite(adaptiveNormK)))
      throw new Error(`adaptiveNormK must be a finite number >= 1, got ${adaptiveNormK}`);
    if (adaptiveNormAction !== 'reject' && adaptiveNormAction !== 'clip')
      throw new Error(`adaptiveNormAction must be "reject" or "clip", got "${String(adaptiveNormAction)}"`);
    this.name = inner.name;
    this.k = adaptiveNormK;
    this.action = adaptiveNormAction;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return this.inner.configureFit(ctx, candidates, fraction, minBanks);
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    return new NormBoundAggregation(
      ctx.roundId,
      ctx.global.length,
      new Set(selected.map((c) => c.bankId)),
      this.inner.beginAggregation(ctx, selected),
      this.k,
      this.action,
    );
  }

  configureEvaluate(ctx: RoundContext, participants: string[], candidates: BankCandidate[]): string[] {
    return this.inner.configureEvaluate(ctx, participants, candidates);
  }
}

class NormBoundAggregation implements Aggregation {
  private readonly updates = new Map<string, { result: FitResult; norm: number }>();
  private finished = false;

  constructor(
    private readonly roundId: number,
    private readonly modelLength: number,
    private readonly selected: ReadonlySet<string>,
    private readonly inner: Aggregation,
    private readonly k: number,
    private readonly action: AdaptiveNormAction,
  ) {}

  get count(): number {
    return this.updates.size;
  }

  add(r: FitResult): void {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    validateFitResult(r, this.modelLength, this.selected, this.updates);
    const delta = Float32Array.from(r.delta);
    this.updates.set(r.bankId, { result: { ...r, delta }, norm: l2Norm(delta) });
  }

  finish(): AggregationOutcome {
    if (this.updates.size === 0)
      throw new Error(`round ${this.roundId}: no bank contributed an update, nothing to aggregate`);
    this.finished = true;
    const ids = [...this.updates.keys()].sort();
    const median = sortedMedian(Float64Array.from(ids, (id) => this.updates.get(id)!.norm).sort());
    const bound = this.k * median;
    const diagnostics: Record<string, BankDiagnostic> = {};
    const rejected: string[] = [];
    for (const id of ids) {
      const { result, norm } = this.updates.get(id)!;
      this.updates.delete(id); // released as soon as the wrapped accumulator has it
      const diag: BankDiagnostic = { norm };
      diagnostics[id] = diag;
      if (norm > bound) {
        const why = `update norm ${norm.toPrecision(4)} exceeds adaptiveNormK ${this.k} × the round's median norm ${median.toPrecision(4)}`;
        if (this.action === 'reject') {
          diag.excluded = why;
          rejected.push(id);
          continue;
        }
        const scale = bound / norm;
        const d = result.delta;
        for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale;
        diag.clipScale = scale;
      }
      try {
        this.inner.add(result);
      } catch (err) {
        diag.excluded = (err as Error).message;
        rejected.push(id);
      }
    }
    const out = this.inner.finish();
    const bankWeights: Record<string, number> = { ...out.bankWeights };
    for (const id of rejected) bankWeights[id] = 0;
    for (const [id, d] of Object.entries(out.diagnostics ?? {})) diagnostics[id] = { ...d, ...diagnostics[id] };
    return { ...out, bankWeights, diagnostics };
  }
}
