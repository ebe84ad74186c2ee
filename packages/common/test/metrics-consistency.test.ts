import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EVALUATION_MAX_SHARE,
  capEvaluationReports,
  checkEvaluation,
  confusionAt,
  emptyHistogram,
  evaluationShares,
  globalMetrics,
  logitHistogram,
  packHistogram,
  sigmoid,
  type BankEvaluationReport,
} from '../src/metrics/index.js';
import { createRng, type Rng } from '../src/rng/index.js';

/**
 * What an honest bank sends (bank-client round-work.ts `evaluate`): confusion counts at the
 * threshold from float32 probabilities, the histogram from the logits of the same scores.
 */
function honestReport(bankId: string, n: number, fraudRate: number, t: number, rng: Rng, bins = 1000) {
  const logits = new Float64Array(n);
  const labels = new Uint8Array(n);
  const probabilities = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.next() < fraudRate ? 1 : 0;
    // Overlapping classes, with some saturated scores at both ends.
    logits[i] = (labels[i] ? 3 : -3) + 4 * rng.normal() + (rng.next() < 0.05 ? 30 * rng.normal() : 0);
    probabilities[i] = sigmoid(logits[i]!);
  }
  return {
    bankId,
    numExamples: n,
    threshold: t,
    confusion: confusionAt(probabilities, labels, t),
    histogram: logitHistogram(logits, labels, bins),
    loss: 0.3,
  };
}

/** The forged evaluation of issue 12: 9e15 examples, all positives in the top bin, counts to match. */
function forgedReport(numExamples = 9e15) {
  const histogram = emptyHistogram(1000);
  histogram.positives[999] = numExamples;
  return {
    bankId: 'mallory',
    numExamples,
    threshold: 0.5,
    confusion: { tp: numExamples, fp: 0, tn: 0, fn: 0 },
    histogram,
    loss: 0,
  };
}

describe('checkEvaluation', () => {
  it('accepts honest reports at any threshold, including 0, 1 and saturated ones', () => {
    const rng = createRng(5);
    for (const t of [0, 1e-9, 0.01, 0.3, 0.5, 0.77, 0.999, 0.9999999, 1]) {
      for (let k = 0; k < 5; k++) {
        const r = honestReport('a', 200 + k * 300, 0.1, t, rng, k % 2 ? 1000 : 50);
        expect(checkEvaluation(r, { declaredTestExamples: r.numExamples, expectedThreshold: t })).toEqual({ ok: true });
      }
    }
  });

  it('refuses the forged 9e15 evaluation: more examples than the bank declared', () => {
    const check = checkEvaluation(forgedReport(), { declaredTestExamples: 20_000 });
    expect(check).toEqual({
      ok: false,
      reason: expect.stringMatching(/numExamples 9000000000000000 exceeds the 20000 test examples declared/),
    });
  });

  it('refuses an evaluation from a bank that declared no test examples at join', () => {
    const r = honestReport('a', 100, 0.1, 0.5, createRng(1));
    expect(checkEvaluation(r, { declaredTestExamples: undefined })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/declared no numTestExamples/),
    });
  });

  it('refuses all mass in the top bin when the confusion counts say the negatives were below the threshold', () => {
    const histogram = emptyHistogram(1000);
    histogram.positives[999] = 50;
    histogram.negatives[999] = 950;
    const r = { numExamples: 1000, threshold: 0.5, confusion: { tp: 50, fp: 0, tn: 950, fn: 0 }, histogram };
    expect(checkEvaluation(r, { declaredTestExamples: 1000 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/confusion fp 0 disagrees with the histogram at threshold 0.5/),
    });
  });

  it('refuses histogram totals that differ from the confusion counts, and mismatched sums', () => {
    const good = honestReport('a', 500, 0.2, 0.5, createRng(3));
    const moved = structuredClone(good);
    moved.histogram.positives[10]! += 1;
    moved.histogram.negatives[10]! -= moved.histogram.negatives[10]! > 0 ? 1 : -1;
    expect(checkEvaluation(moved, { declaredTestExamples: 500 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/histogram holds \d+ positives/),
    });
    const miscounted = structuredClone(good);
    miscounted.confusion.tn += 1;
    expect(checkEvaluation(miscounted, { declaredTestExamples: 500 })).toMatchObject({
      reason: expect.stringMatching(/confusion counts add up to 501, numExamples is 500/),
    });
  });

  it('refuses a tp shifted by one bin-full beyond the threshold band', () => {
    const good = honestReport('a', 2000, 0.3, 0.5, createRng(8));
    const shifted = structuredClone(good);
    shifted.confusion.tp += 5;
    shifted.confusion.fn -= 5;
    expect(checkEvaluation(shifted, { declaredTestExamples: 2000 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/confusion tp \d+ disagrees with the histogram/),
    });
  });

  it('refuses non-integers, negatives, a threshold or bin count other than requested', () => {
    const good = honestReport('a', 300, 0.2, 0.5, createRng(4), 100);
    const frac = structuredClone(good);
    frac.confusion.tp += 0.5;
    expect(checkEvaluation(frac, { declaredTestExamples: 300 })).toMatchObject({
      reason: expect.stringMatching(/confusion tp .* is not a non-negative integer/),
    });
    const neg = structuredClone(good);
    neg.histogram.negatives[3] = -1;
    expect(checkEvaluation(neg, { declaredTestExamples: 300 })).toMatchObject({
      reason: expect.stringMatching(/histogram bin 3 has non-count entries/),
    });
    expect(checkEvaluation(good, { declaredTestExamples: 300, expectedThreshold: 0.4 })).toMatchObject({
      reason: expect.stringMatching(/threshold 0.5 differs from the 0.4/),
    });
    expect(checkEvaluation(good, { declaredTestExamples: 300, expectedBins: 1000 })).toMatchObject({
      reason: expect.stringMatching(/histogram has 100 bins, expected 1000/),
    });
    expect(checkEvaluation({ ...good, numExamples: 1.5 }, { declaredTestExamples: 300 })).toMatchObject({
      ok: false,
    });
  });
});

describe('evaluation shares and their cap', () => {
  it('gives the same global metrics and capped reports from packed histograms (as the aggregator keeps them)', () => {
    const rng = createRng(5);
    const reports: BankEvaluationReport[] = [
      ...['a', 'b'].map((id) => honestReport(id, 2000, 0.05, 0.5, rng)),
      forgedReport(50_000),
    ];
    const packed = reports.map((r) => ({ ...r, histogram: packHistogram(r.histogram) }));
    expect(packed[0]!.histogram.positives).toBeInstanceOf(Float64Array);
    expect(Array.from(packed[0]!.histogram.negatives)).toEqual(reports[0]!.histogram.negatives);
    expect(globalMetrics(packed)).toEqual(globalMetrics(reports));
    const capped = capEvaluationReports(reports, 0.5);
    const cappedPacked = capEvaluationReports(packed, 0.5);
    expect(cappedPacked.shares).toEqual(capped.shares);
    expect(globalMetrics(cappedPacked.reports)).toEqual(globalMetrics(capped.reports));
    // A packed copy does not share the bank's arrays: later changes to them cannot reach it.
    (reports[0]!.histogram.positives as number[])[0]! += 1;
    expect(packed[0]!.histogram.positives[0]).not.toBe(reports[0]!.histogram.positives[0]);
  });

  it('reports each bank’s share and caps a dominant one at maxShare (water-filling)', () => {
    const shares = evaluationShares(
      [
        { bankId: 'a', numExamples: 8000 },
        { bankId: 'b', numExamples: 1000 },
        { bankId: 'c', numExamples: 1000 },
        { bankId: 'empty', numExamples: 0 },
      ],
      0.5,
    );
    expect(shares.map((s) => s.share)).toEqual([0.8, 0.1, 0.1, 0]);
    expect(shares[0]!.cappedShare).toBeCloseTo(0.5, 12);
    expect(shares[0]!.scale).toBeCloseTo(2000 / 8000, 12);
    expect(shares[1]!.cappedShare).toBeCloseTo(0.25, 12);
    expect(shares[3]!.scale).toBe(1);
    // No cap by default.
    expect(
      evaluationShares([
        { bankId: 'a', numExamples: 9 },
        { bankId: 'b', numExamples: 1 },
      ])[0]!.cappedShare,
    ).toBe(0.9);
    expect(DEFAULT_EVALUATION_MAX_SHARE).toBe(0.5);
  });

  it('keeps a bank that lied about its test-set size at join from defining the global AUPRC', () => {
    const rng = createRng(21);
    const honest = ['a', 'b', 'c'].map((id) => honestReport(id, 3000, 0.05, 0.5, rng));
    const forged = forgedReport(9e15);
    // Suppose the hostile bank declared 9e15 test examples at join: the consistency check passes…
    expect(checkEvaluation(forged, { declaredTestExamples: 9e15 })).toEqual({ ok: true });
    const reports: BankEvaluationReport[] = [...honest, forged];
    const uncapped = globalMetrics(reports);
    expect(uncapped.auprc).toBeGreaterThan(0.9999); // what happened in round 312
    // …but its share of the pooled evaluation is capped at one half.
    const { reports: capped, shares } = capEvaluationReports(reports);
    expect(shares.find((s) => s.bankId === 'mallory')!.share).toBeGreaterThan(0.9999);
    expect(shares.find((s) => s.bankId === 'mallory')!.cappedShare).toBeCloseTo(0.5, 6);
    const honestOnly = globalMetrics(honest).auprc;
    const g = globalMetrics(capped);
    // The forged bank now holds half of the pooled frauds (its negatives were none), not 99.99 %.
    const honestPositives = honest.reduce((s, r) => s + r.confusion.tp + r.confusion.fn, 0);
    const mallory = capped[3]!;
    expect(mallory.confusion.tp).toBe(honestPositives);
    expect(g.numExamples).toBe(3 * 3000 + honestPositives);
    // Measured: 1.000 uncapped, 0.695 capped, 0.179 for the honest banks alone. Half of the
    // frauds perfectly ranked still lifts the figure: the cap bounds a liar, it cannot undo one.
    expect(g.auprc).toBeLessThan(0.75);
    expect(g.auprc).toBeGreaterThan(honestOnly);
    // Scaled reports stay integral and self-consistent.
    for (const r of capped) {
      const pos = Array.from(r.histogram.positives).reduce((s, x) => s + x, 0);
      const neg = Array.from(r.histogram.negatives).reduce((s, x) => s + x, 0);
      expect(pos).toBe(r.confusion.tp + r.confusion.fn);
      expect(neg).toBe(r.confusion.fp + r.confusion.tn);
      expect(r.numExamples).toBe(pos + neg);
      expect([...Array.from(r.histogram.positives), ...Array.from(r.histogram.negatives)].every(Number.isInteger)).toBe(
        true,
      );
    }
    // Honest banks under the cap are passed through untouched.
    expect(capped[0]).toBe(reports[0]);
  });
});
