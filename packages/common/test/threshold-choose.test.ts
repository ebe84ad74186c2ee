/**
 * Operating thresholds (src/threshold) on small hand-computed cases.
 *
 * The main case: 10 validation rows, 4 fraud, 6 legitimate, one tie at 0.8.
 *
 *   t    flagged  tp fp  precision  recall  FPR
 *   0.9     1      1  0    1         0.25    0
 *   0.8     3      2  1    2/3       0.5     1/6   (the tie: one fraud, one legitimate)
 *   0.7     4      3  1    0.75      0.75    1/6
 *   0.6     5      3  2    0.6       0.75    2/6
 *   0.5     6      3  3    0.5       0.75    3/6
 *   0.4     7      4  3    4/7       1       3/6
 *   0.3     8      4  4    0.5       1       4/6
 *   0.2     9      4  5    4/9       1       5/6
 *   0.1    10      4  6    0.4       1       1
 */
import { describe, expect, it } from 'vitest';
import {
  chooseThreshold,
  operatingPointAt,
  sweepOperatingPoints,
  ThresholdUnreachableError,
  type ThresholdTarget,
} from '../src/threshold/index.js';

const scores = [0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
const labels = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0];

function unreachable(fn: () => unknown): ThresholdUnreachableError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ThresholdUnreachableError) return err;
    throw err;
  }
  throw new Error('expected ThresholdUnreachableError');
}

describe('chooseThreshold', () => {
  it('max FPR: the lowest threshold whose FPR is within the limit', () => {
    const r = chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 0.2 });
    expect(r.threshold).toBe(0.7);
    expect(r.point).toMatchObject({ tp: 3, fp: 1, tn: 5, fn: 1, precision: 0.75, recall: 0.75, alertsPerDay: null });
    expect(r.point.fpr).toBeCloseTo(1 / 6, 15);
    expect(r).toMatchObject({ rows: 10, positives: 4, negatives: 6 });
    expect(chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 0 }).threshold).toBe(0.9);
    expect(chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 0.5 }).point).toMatchObject({
      threshold: 0.4,
      recall: 1,
      precision: 4 / 7,
    });
    expect(chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 1 }).threshold).toBe(0.1);
  });

  it('min precision: the highest recall meeting it, the higher threshold among equal recalls', () => {
    expect(chooseThreshold(scores, labels, { kind: 'min-precision', minPrecision: 0.7 }).threshold).toBe(0.7);
    expect(chooseThreshold(scores, labels, { kind: 'min-precision', minPrecision: 0.55 }).threshold).toBe(0.4);
    // 0.7 and 0.6 both reach recall 0.75 with precision ≥ 0.6: the higher one flags fewer legitimate.
    const r = chooseThreshold(scores, labels, { kind: 'min-precision', minPrecision: 0.6 });
    expect(r.threshold).toBe(0.7);
    expect(r.point.fp).toBe(1);
    expect(chooseThreshold(scores, labels, { kind: 'min-precision', minPrecision: 1 }).threshold).toBe(0.9);
  });

  it('alerts per day: as many alerts as the budget allows at rowsPerDay', () => {
    // 1,000 rows a day: each flagged validation row (of 10) is 100 alerts a day.
    const t = (alertsPerDay: number) =>
      chooseThreshold(scores, labels, { kind: 'alerts-per-day', alertsPerDay }, { rowsPerDay: 1000 });
    expect(t(250).threshold).toBe(0.9);
    expect(t(250).point.alertsPerDay).toBe(100);
    expect(t(300).threshold).toBe(0.8); // exactly on budget
    expect(t(300).point.alertsPerDay).toBeCloseTo(300, 9);
    expect(t(5000).threshold).toBe(0.1);
    // Reported with the other targets when rowsPerDay is given.
    expect(
      chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 0.2 }, { rowsPerDay: 1000 }).point.alertsPerDay,
    ).toBeCloseTo(400, 9);
  });

  it('says the closest achievable point when the target cannot be met', () => {
    const e1 = unreachable(() =>
      chooseThreshold(scores, labels, { kind: 'alerts-per-day', alertsPerDay: 50 }, { rowsPerDay: 1000 }),
    );
    expect(e1.closest).toMatchObject({ threshold: 0.9, alertsPerDay: 100 });
    expect(e1.message).toMatch(
      /no threshold gives at most 50 alerts per day.*closest achievable is threshold 0\.9.*100\.0 alerts\/day/,
    );

    // The top score is legitimate: any alert has FPR ≥ 1/3.
    const s2 = [0.95, 0.9, 0.5, 0.1];
    const l2 = [0, 1, 0, 0];
    const e2 = unreachable(() => chooseThreshold(s2, l2, { kind: 'max-fpr', maxFpr: 0.1 }));
    expect(e2.closest.threshold).toBe(0.95);
    expect(e2.message).toMatch(
      /at or below 10\.0%.*flags 1 of the 3 legitimate.*closest achievable is threshold 0\.95/,
    );

    const e3 = unreachable(() => chooseThreshold(s2, l2, { kind: 'min-precision', minPrecision: 0.9 }));
    expect(e3.closest).toMatchObject({ threshold: 0.9, precision: 0.5, recall: 1 });
    expect(e3.message).toMatch(
      /precision of 90\.0%.*highest achievable is threshold 0\.9: precision 50\.0%, recall 100%/,
    );
  });

  it('flags ties together and does not depend on row order', () => {
    const perm = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5];
    const s = perm.map((i) => scores[i]!);
    const l = perm.map((i) => labels[i]!);
    const targets: ThresholdTarget[] = [
      { kind: 'max-fpr', maxFpr: 0.2 },
      { kind: 'min-precision', minPrecision: 0.6 },
      { kind: 'max-fpr', maxFpr: 0.17 },
    ];
    for (const target of targets) {
      expect(chooseThreshold(s, l, target)).toEqual(chooseThreshold(scores, labels, target));
    }
    // FPR ≤ 0.1 cannot split the 0.8 tie: the cut stays above it.
    expect(chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 0.1 }).threshold).toBe(0.9);
    expect(sweepOperatingPoints(scores, labels).points.map((p) => p.threshold)).toEqual([
      0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1,
    ]);
  });

  it('returns a PR curve for a chart, thinned, with the chosen point, the first and the last', () => {
    const n = 1000;
    const s = Array.from({ length: n }, (_, i) => i / n);
    const l = s.map((_, i) => (i % 7 === 0 || i > 900 ? 1 : 0));
    const r = chooseThreshold(s, l, { kind: 'min-precision', minPrecision: 0.5 }, { maxCurvePoints: 10 });
    expect(r.curve.length).toBeLessThanOrEqual(10);
    expect(r.curve[0]!.threshold).toBe(0.999);
    expect(r.curve.at(-1)!.threshold).toBe(0);
    expect(r.curve).toContainEqual(r.point);
    for (let i = 1; i < r.curve.length; i++) expect(r.curve[i]!.threshold).toBeLessThan(r.curve[i - 1]!.threshold);
    expect(chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 0.2 }).curve).toHaveLength(9);
    // Two points cannot hold the first, the last and the chosen one: refused, not a curve with a hole.
    expect(() => chooseThreshold(s, l, { kind: 'max-fpr', maxFpr: 0.25 }, { maxCurvePoints: 2 })).toThrow(
      'maxCurvePoints must be an integer ≥ 3 (the first, the last and the chosen point), got 2',
    );
    const three = chooseThreshold(s, l, { kind: 'max-fpr', maxFpr: 0.25 }, { maxCurvePoints: 3 }).curve;
    expect(three.length).toBeLessThanOrEqual(3);
    expect(three.every((p) => p !== undefined)).toBe(true);
  });

  it('refuses bad input and targets with clear errors (never a default threshold)', () => {
    const t: ThresholdTarget = { kind: 'max-fpr', maxFpr: 0.1 };
    expect(() => chooseThreshold([0.1, 0.2], [0, 0], t)).toThrow(/no fraud: precision and recall cannot be estimated/);
    expect(() => chooseThreshold([0.1, 0.2], [1, 1], t)).toThrow(/only fraud/);
    expect(() => chooseThreshold([], [], t)).toThrow(/empty/);
    expect(() => chooseThreshold([0.1, NaN], [0, 1], t)).toThrow(/score 1 is NaN/);
    expect(() => chooseThreshold([0.1, 0.2], [0, 2], t)).toThrow(/label 1 is 2/);
    expect(() => chooseThreshold([0.1], [0, 1], t)).toThrow(/differ in length: 1 vs 2/);
    expect(() => chooseThreshold(scores, labels, { kind: 'max-fpr', maxFpr: 1.5 })).toThrow(
      /maxFpr must be in \[0, 1\]/,
    );
    expect(() => chooseThreshold(scores, labels, { kind: 'min-precision', minPrecision: 0 })).toThrow(/minPrecision/);
    expect(() => chooseThreshold(scores, labels, { kind: 'alerts-per-day', alertsPerDay: 10 })).toThrow(
      /needs rowsPerDay/,
    );
    expect(() =>
      chooseThreshold(scores, labels, { kind: 'alerts-per-day', alertsPerDay: 10 }, { rowsPerDay: -1 }),
    ).toThrow(/rowsPerDay must be a positive number/);
    expect(() => chooseThreshold(scores, labels, { kind: 'f1' } as unknown as ThresholdTarget)).toThrow(
      /unknown threshold target/,
    );
  });
});

describe('operatingPointAt', () => {
  it('evaluates a given threshold (e.g. the chosen one on the test split)', () => {
    expect(operatingPointAt(scores, labels, 0.8, 1000)).toMatchObject({
      threshold: 0.8,
      tp: 2,
      fp: 1,
      tn: 5,
      fn: 2,
      recall: 0.5,
      alertsPerDay: 300,
    });
    expect(operatingPointAt(scores, labels, 0.95)).toMatchObject({ tp: 0, fp: 0, precision: 0, recall: 0, fpr: 0 });
    expect(() => operatingPointAt(scores, labels, NaN)).toThrow(/NaN/);
  });
});
