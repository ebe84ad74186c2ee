/**
 * The calibration job (issue 18 item 4), pure: one stage in which every bank sends the
 * histogram of its anomaly scores (counts per bin of the sigmoid+logit layout of
 * common/metrics, applied to logit(score)); the aggregator adds them and returns the
 * consortium-wide score quantile for the chosen contamination, so that "anomalous" means
 * the same thing in every bank. No row or score leaves a bank, only bin counts.
 */
import { lowerEdgeLogit, sigmoid } from '@finsecure/common/metrics';
import type { AnalyticsAnswerBody } from '@finsecure/common/protocol';
import type { CalibrationParams } from './params.js';
import type { JobKind, JobStep } from './types.js';

/**
 * The threshold that flags the top `contamination` share of a score histogram: the lower
 * edge of the highest bin at which the count from the top reaches contamination × total, as
 * a score (σ of the edge's logit). Flags at least that share (bin resolution: at most one
 * bin more). Throws on an empty histogram.
 */
export function histogramThreshold(counts: ArrayLike<number>, contamination: number): number {
  const bins = counts.length;
  let total = 0;
  for (let i = 0; i < bins; i++) total += counts[i]!;
  if (total <= 0) throw new Error('no scores in the histogram');
  const target = contamination * total;
  let above = 0;
  for (let b = bins - 1; b >= 0; b--) {
    above += counts[b]!;
    if (above >= target) return sigmoid(lowerEdgeLogit(b, bins));
  }
  return 0;
}

export class CalibrationJob implements JobKind {
  participants: Set<string> | null = null;
  private sum: number[] | null = null;
  private readonly sources: Record<string, string> = {};
  private closed = false;
  private answered: string[] = [];
  private readonly declined: { bank: string; reason: string }[] = [];

  constructor(readonly params: CalibrationParams) {}

  next(): JobStep {
    const p = this.params;
    if (!this.closed)
      return {
        type: 'stage',
        stage: {
          name: 'histogram',
          timeoutMs: p.stageTimeoutMs,
          task: { kind: 'calibration_histogram', bins: p.bins, minAccounts: p.minAccounts },
        },
      };
    if (!this.sum || this.answered.length === 0) {
      const why = this.declined.map((x) => `${x.bank}: ${x.reason}`).join('; ');
      return { type: 'fail', reason: `no bank sent a score histogram${why ? ` (${why})` : ''}` };
    }
    const accounts = this.sum.reduce((a, b) => a + b, 0);
    const threshold = histogramThreshold(this.sum, p.contamination);
    return {
      type: 'done',
      result: {
        contamination: p.contamination,
        threshold,
        bins: p.bins,
        banks: this.answered,
        accounts,
        sources: this.sources,
        histogram: this.sum,
        declined: this.declined,
      },
      outcome: {
        kind: 'calibration',
        contamination: p.contamination,
        threshold,
        banks: this.answered.length,
        accounts,
      },
    };
  }

  accept(bankId: string, a: AnalyticsAnswerBody): string | null {
    if (a.kind !== 'calibration_histogram') return `expected calibration_histogram, got ${a.kind}`;
    if (a.counts.length !== this.params.bins)
      return `histogram of ${a.counts.length} bins, the job asked for ${this.params.bins}`;
    const n = a.counts.reduce((x, y) => x + y, 0);
    if (n < this.params.minAccounts) return `${n} scores is below the minimum of ${this.params.minAccounts}`;
    this.sum ??= new Array<number>(this.params.bins).fill(0);
    for (let i = 0; i < a.counts.length; i++) this.sum[i]! += a.counts[i]!;
    this.sources[bankId] = a.source;
    return null;
  }

  close(answered: readonly string[], dropped: ReadonlyMap<string, string>): void {
    this.closed = true;
    this.answered = [...answered];
    this.participants = new Set(answered);
    for (const [bank, reason] of dropped) this.declined.push({ bank, reason });
  }
}
