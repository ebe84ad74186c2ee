/**
 * Per-bank update statistics for reputation (issue 15, part 2): each update's L2 norm, its
 * L2 distance to the round's aggregate and its cosine similarity to it. The aggregate is the
 * step the global model actually moved by (new − old global weights), the same vector for
 * every strategy, so the numbers compare across strategies and rounds; an update that points
 * against the consortium (sign flip) has a negative cosine, a scaled one a large norm and
 * distance. Cosine similarity as a poisoning signal: FoolsGold (Fung et al. 2020), FLTrust
 * (Cao et al. 2021).
 *
 * Strategies that buffer the round's updates (FedMedian, Krum, Multi-Krum, Bulyan, trimmed
 * mean) compute these in `finish` at no extra memory (one O(n × d) pass). FedAvg and
 * centered clipping keep only a running sum, so their accumulator is wrapped in
 * `withUpdateStatistics`, which keeps a copy of every accepted update: n × d float32
 * (16 KB per bank for the 4,097-parameter MLP; 4 MB per bank for a 1M-parameter model).
 */
import type { Aggregation, AggregationOutcome, BankDiagnostic, FitResult } from './types.js';

export interface UpdateStatistics {
  /** ‖Δ‖₂. */
  norm: number;
  /** ‖Δ − A‖₂ with A the aggregate step. */
  aggregateDistance: number;
  /** ⟨Δ, A⟩ / (‖Δ‖ ‖A‖); absent when either norm is 0. */
  cosine?: number;
}

/**
 * Norm, distance and cosine of one update `delta` (length d) against the aggregate `step`
 * (length d), accumulated in float64 in one pass. Throws on a length mismatch.
 */
export function updateStatistics(delta: ArrayLike<number>, step: ArrayLike<number>): UpdateStatistics {
  if (delta.length !== step.length)
    throw new Error(`update has ${delta.length} values, the aggregate step ${step.length}`);
  let dd = 0;
  let ss = 0;
  let ds = 0;
  for (let i = 0; i < delta.length; i++) {
    const x = delta[i]!;
    const y = step[i]!;
    dd += x * x;
    ss += y * y;
    ds += x * y;
  }
  const norm = Math.sqrt(dd);
  // ‖Δ − A‖² = ‖Δ‖² − 2⟨Δ, A⟩ + ‖A‖², clamped at 0 against rounding.
  const aggregateDistance = Math.sqrt(Math.max(0, dd - 2 * ds + ss));
  const denom = norm * Math.sqrt(ss);
  if (denom === 0 || !Number.isFinite(denom)) return { norm, aggregateDistance };
  return { norm, aggregateDistance, cosine: Math.max(-1, Math.min(1, ds / denom)) };
}

/** The aggregate step new − old global weights, in float64. */
export function aggregateStep(weights: Float32Array, global: Float32Array): Float64Array {
  const step = new Float64Array(weights.length);
  for (let i = 0; i < step.length; i++) step[i] = weights[i]! - global[i]!;
  return step;
}

/**
 * Adds `aggregateDistance` and `cosine` (and `norm`, when the strategy did not set one, e.g.
 * the adaptive norm bound's pre-clip norm) to each bank's diagnostic; mutates and returns `diag`.
 */
export function addStatistics(
  diag: Record<string, BankDiagnostic>,
  ids: readonly string[],
  deltas: readonly ArrayLike<number>[],
  step: ArrayLike<number>,
): Record<string, BankDiagnostic> {
  ids.forEach((id, b) => {
    const s = updateStatistics(deltas[b]!, step);
    const d = (diag[id] ??= {});
    d.norm ??= s.norm;
    d.aggregateDistance = s.aggregateDistance;
    if (s.cosine !== undefined) d.cosine = s.cosine;
  });
  return diag;
}

/**
 * Wraps a running-sum accumulator (FedAvg, centered clipping) so that its outcome carries the
 * update statistics of every bank it accepted. `add` passes the update to the inner
 * accumulator first and keeps a copy only when the inner one accepted it. Memory: one copy
 * per accepted update (n × d float32). `global` is read at `finish`; it must not change
 * before then (the same contract as the strategies' accumulators).
 */
export function withUpdateStatistics(inner: Aggregation, global: Float32Array): Aggregation {
  const copies = new Map<string, Float32Array>();
  return {
    get count() {
      return inner.count;
    },
    add(r: FitResult): void {
      inner.add(r);
      copies.set(r.bankId, Float32Array.from(r.delta));
    },
    finish(): AggregationOutcome {
      const out = inner.finish();
      const ids = [...copies.keys()].sort();
      const diagnostics = addStatistics(
        structuredClone(out.diagnostics ?? {}),
        ids,
        ids.map((id) => copies.get(id)!),
        aggregateStep(out.weights, global),
      );
      copies.clear();
      return { ...out, diagnostics };
    },
  };
}

/**
 * Whether a strategy's accumulator needs `withUpdateStatistics` for reputation: the running-sum
 * ones (fedavg, centered-clipping); the buffering strategies compute the statistics themselves.
 */
export function needsStatisticsProbe(strategyName: string): boolean {
  return strategyName === 'fedavg' || strategyName === 'centered-clipping';
}
