/**
 * The operating threshold: the score above which a transaction becomes an alert. Chosen
 * explicitly per bank (never a silent 0.5), from the bank's own validation split by a
 * target the analyst understands (@finsecure/common/threshold: maximum false-positive
 * rate, minimum precision, alerts per day) or as an explicit probability, and stored in
 * the console database with who chose it, what it implies on the validation split and
 * the PR curve. Stored as a logit (the scores are compared as logits), so thresholds
 * above σ⁻¹(1 − 2⁻²⁴) stay distinct.
 */
import type { Dataset } from '@finsecure/common';
import {
  chooseThreshold,
  operatingPointAt,
  sweepOperatingPoints,
  thinCurve,
  type OperatingPoint,
  type ThresholdTarget,
} from '@finsecure/common/threshold';
import type { OperatingThreshold, ThresholdTargetKind } from './api-types.js';
import type { ConsoleDb } from './db.js';
import { sigmoid, Scorer, type LoadedModel } from './scorer.js';

// Declared in api-types.ts, which the browser app imports too.
export type { OperatingThreshold, ThresholdTargetKind } from './api-types.js';

export const THRESHOLD_KEY = 'operating-threshold';

/** The bank's held-out validation split (raw features, 0/1 labels), loaded on demand. */
export interface ValidationSource {
  load(): Promise<Dataset>;
}

export function currentThreshold(db: ConsoleDb): OperatingThreshold | null {
  return db.getSetting<OperatingThreshold>(THRESHOLD_KEY);
}

/** σ⁻¹(p) for p in (0, 1). */
export function logitOf(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

/**
 * Validation rows per day, from the split's time column (seconds) when it spans at least
 * an hour; null otherwise (an alerts-per-day target is then refused with that reason).
 */
export function rowsPerDay(ds: Dataset): number | null {
  if (!ds.times || ds.numRows < 2) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of ds.times) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  const days = (hi - lo) / 86_400;
  return days >= 1 / 24 ? ds.numRows / days : null;
}

/** Thrown for a target that cannot be used; the message says why. */
export class ThresholdChoiceError extends Error {
  override name = 'ThresholdChoiceError';
}

/** Validation logits and labels for one model, cached by model file stamp. */
export class ValidationScores {
  private cached: { stamp: number; logits: Float64Array; labels: Uint8Array; rowsPerDay: number | null } | null = null;
  constructor(private readonly source: ValidationSource) {}

  async get(model: LoadedModel) {
    if (this.cached?.stamp === model.stamp) return this.cached;
    const ds = await this.source.load();
    if (ds.numFeatures !== model.spec.inputSize) {
      throw new ThresholdChoiceError(
        `the validation split has ${ds.numFeatures} features, the model ${model.spec.inputSize}`,
      );
    }
    const scaled = ds.features.slice();
    Scorer.scale(model, scaled);
    const { logits } = Scorer.score(model, scaled, ds.numRows);
    this.cached = { stamp: model.stamp, logits, labels: ds.labels, rowsPerDay: rowsPerDay(ds) };
    return this.cached;
  }
}

function commonTarget(kind: ThresholdTargetKind, value: number): ThresholdTarget | null {
  if (kind === 'fpr') return { kind: 'max-fpr', maxFpr: value };
  if (kind === 'precision') return { kind: 'min-precision', minPrecision: value };
  if (kind === 'alerts-per-day') return { kind: 'alerts-per-day', alertsPerDay: value };
  return null;
}

const curveOf = (points: readonly OperatingPoint[]) =>
  points.map((p) => ({ recall: p.recall, precision: p.precision }));

/**
 * Chooses the threshold for `kind`/`value`: a probability is taken as given (and what
 * it implies is computed when there is a validation split); the other targets need the
 * validation split. Throws ThresholdChoiceError (bad value, no validation split) and
 * common/threshold's ThresholdUnreachableError (target not achievable: closest point).
 */
export async function chooseOperatingThreshold(args: {
  kind: ThresholdTargetKind;
  value: number;
  model: LoadedModel;
  validation: ValidationScores | null;
  chosenBy: string;
  at: number;
}): Promise<OperatingThreshold> {
  const { kind, value, model } = args;
  const target = commonTarget(kind, value);
  if (kind === 'probability' && !(value > 0 && value < 1))
    throw new ThresholdChoiceError(`a probability threshold must be in (0, 1), got ${value}`);
  if (target && !args.validation)
    throw new ThresholdChoiceError(
      `choosing by ${kind} needs the bank's validation split: run the console inside the daemon (start --console-port) or give --validation`,
    );
  const v = args.validation ? await args.validation.get(model) : null;
  let logit: number;
  let point: OperatingPoint | null = null;
  let curve: { recall: number; precision: number }[] = [];
  if (target && v) {
    if (kind === 'alerts-per-day' && v.rowsPerDay === null)
      throw new ThresholdChoiceError(
        'the validation split has no time column spanning an hour or more: alerts per day are unknown',
      );
    let chosen;
    try {
      chosen = chooseThreshold(v.logits, v.labels, target, {
        ...(v.rowsPerDay !== null ? { rowsPerDay: v.rowsPerDay } : {}),
        maxCurvePoints: 200,
      });
    } catch (err) {
      if ((err as Error).name === 'ThresholdUnreachableError') throw err;
      throw new ThresholdChoiceError((err as Error).message);
    }
    logit = chosen.threshold;
    point = chosen.point;
    curve = curveOf(chosen.curve);
  } else {
    logit = logitOf(value);
    if (v) {
      try {
        point = operatingPointAt(v.logits, v.labels, logit, v.rowsPerDay);
        curve = curveOf(thinCurve(sweepOperatingPoints(v.logits, v.labels, v.rowsPerDay).points, 200));
      } catch {
        point = null; // e.g. a validation split with one class: nothing to imply
      }
    }
  }
  let frauds = 0;
  if (v) for (const y of v.labels) frauds += y;
  return {
    logit,
    probability: sigmoid(logit),
    target: { kind, value },
    implied: point
      ? { precision: point.precision, recall: point.recall, fpr: point.fpr, alertsPerDay: point.alertsPerDay }
      : null,
    validation: v ? { rows: v.labels.length, frauds } : null,
    curve,
    modelVersion: model.version,
    chosenBy: args.chosenBy,
    at: args.at,
  };
}
