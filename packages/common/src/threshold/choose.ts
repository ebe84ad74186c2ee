/**
 * Choosing a bank's operating threshold from its own validation scores and labels by a
 * target an analyst understands. There is no default threshold: the caller states the
 * target, and gets back the threshold with the precision, recall, false-positive rate
 * and alerts per day it implies on that split, plus the PR curve for a chart.
 *
 *   - maxFpr: flag as much fraud as possible while flagging at most this share of
 *     legitimate transactions (the lowest threshold with FPR ≤ target);
 *   - minPrecision: catch as much fraud as possible while at least this share of alerts
 *     are fraud (the highest recall with precision ≥ target; among equal recalls the
 *     highest threshold, i.e. the fewest false positives);
 *   - alertsPerDay: as many alerts as the team can review (the lowest threshold whose
 *     alert rate × rowsPerDay ≤ target).
 *
 * Candidates are the distinct validation scores (curve.ts), so ties are flagged together
 * and the choice never depends on row order. When no candidate meets the target, a
 * ThresholdUnreachableError says what the closest achievable operating point is.
 */
import { sweepOperatingPoints, thinCurve, type OperatingPoint } from './curve.js';

export type ThresholdTarget =
  | { kind: 'max-fpr'; maxFpr: number }
  | { kind: 'min-precision'; minPrecision: number }
  | { kind: 'alerts-per-day'; alertsPerDay: number };

export interface ChooseThresholdOptions {
  /** Transactions the bank sees per day: required for 'alerts-per-day', reported otherwise. */
  rowsPerDay?: number;
  /** Points in the returned curve (default 200, ≥ 3: the first, the last and the chosen point). */
  maxCurvePoints?: number;
}

export interface OperatingThreshold {
  target: ThresholdTarget;
  /** Flag a transaction when its score is ≥ threshold (same scale as the scores). */
  threshold: number;
  /** The operating point at `threshold` on the validation split. */
  point: OperatingPoint;
  /** Validation rows, fraud and legitimate. */
  rows: number;
  positives: number;
  negatives: number;
  /** The PR curve (thinned, in decreasing threshold), including `point`. */
  curve: OperatingPoint[];
}

/** The target cannot be met on this split; `closest` is the nearest achievable point. */
export class ThresholdUnreachableError extends Error {
  readonly closest: OperatingPoint;
  constructor(message: string, closest: OperatingPoint) {
    super(message);
    this.name = 'ThresholdUnreachableError';
    this.closest = closest;
  }
}

const pct = (x: number) => `${(x * 100).toPrecision(3)}%`;
const describe = (p: OperatingPoint) =>
  `threshold ${p.threshold}: precision ${pct(p.precision)}, recall ${pct(p.recall)}, FPR ${pct(p.fpr)}` +
  (p.alertsPerDay === null ? '' : `, ${p.alertsPerDay.toPrecision(4)} alerts/day`);

function checkTarget(target: ThresholdTarget, rowsPerDay: number | undefined): void {
  switch (target.kind) {
    case 'max-fpr':
      if (!(target.maxFpr >= 0 && target.maxFpr <= 1))
        throw new Error(`maxFpr must be in [0, 1], got ${target.maxFpr}`);
      return;
    case 'min-precision':
      if (!(target.minPrecision > 0 && target.minPrecision <= 1))
        throw new Error(`minPrecision must be in (0, 1], got ${target.minPrecision}`);
      return;
    case 'alerts-per-day':
      if (!(target.alertsPerDay > 0 && Number.isFinite(target.alertsPerDay)))
        throw new Error(`alertsPerDay must be a positive number, got ${target.alertsPerDay}`);
      if (rowsPerDay === undefined) throw new Error('an alerts-per-day target needs rowsPerDay (transactions per day)');
      return;
    default:
      throw new Error(`unknown threshold target ${JSON.stringify(target)}`);
  }
}

/**
 * The operating threshold meeting `target` on the validation split (scores and 0/1
 * labels, same length, both classes present, finite scores). Throws Error on bad input
 * and ThresholdUnreachableError (with the closest achievable point) when no threshold
 * meets the target.
 */
export function chooseThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  target: ThresholdTarget,
  opts: ChooseThresholdOptions = {},
): OperatingThreshold {
  checkTarget(target, opts.rowsPerDay);
  const sweep = sweepOperatingPoints(scores, labels, opts.rowsPerDay ?? null);
  const pts = sweep.points;
  let chosen = -1;
  switch (target.kind) {
    case 'max-fpr': {
      // FPR grows along the sweep: the last point within the limit has the most recall.
      for (let i = 0; i < pts.length && pts[i]!.fpr <= target.maxFpr; i++) chosen = i;
      if (chosen < 0)
        throw new ThresholdUnreachableError(
          `no threshold keeps the false-positive rate at or below ${pct(target.maxFpr)} while flagging anything: ` +
            `the highest score alone flags ${pts[0]!.fp} of the ${sweep.negatives} legitimate validation transactions; ` +
            `the closest achievable is ${describe(pts[0]!)}`,
          pts[0]!,
        );
      break;
    }
    case 'min-precision': {
      let best = 0;
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i]!;
        if (p.precision >= target.minPrecision && (chosen < 0 || p.recall > pts[chosen]!.recall)) chosen = i;
        const b = pts[best]!;
        if (p.precision > b.precision || (p.precision === b.precision && p.recall > b.recall)) best = i;
      }
      if (chosen < 0)
        throw new ThresholdUnreachableError(
          `no threshold reaches a precision of ${pct(target.minPrecision)} on this validation split; ` +
            `the highest achievable is ${describe(pts[best]!)}`,
          pts[best]!,
        );
      break;
    }
    case 'alerts-per-day': {
      // Relative slack so that a budget equal to an achievable rate is met despite rounding.
      const limit = target.alertsPerDay * (1 + 1e-12);
      for (let i = 0; i < pts.length && pts[i]!.alertsPerDay! <= limit; i++) chosen = i;
      if (chosen < 0)
        throw new ThresholdUnreachableError(
          `no threshold gives at most ${target.alertsPerDay} alerts per day: ${pts[0]!.tp + pts[0]!.fp} validation ` +
            `transactions share the highest score; the closest achievable is ${describe(pts[0]!)}`,
          pts[0]!,
        );
      break;
    }
  }
  const point = pts[chosen]!;
  const curve = thinCurve(pts, opts.maxCurvePoints ?? 200, chosen);
  return {
    target,
    threshold: point.threshold,
    point,
    rows: sweep.positives + sweep.negatives,
    positives: sweep.positives,
    negatives: sweep.negatives,
    curve,
  };
}
