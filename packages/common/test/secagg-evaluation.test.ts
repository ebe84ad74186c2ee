import { describe, expect, it } from 'vitest';
import { decodeEvaluationSum, encodeEvaluationCounts, evaluationVectorLength } from '../src/secagg/index.js';
import { emptyHistogram } from '../src/metrics/index.js';

/** A bank's counts: tp, fp, tn, fn and a histogram whose bins agree with them. */
function counts(tp: number, fp: number, tn: number, fn: number, bins = 8) {
  const histogram = emptyHistogram(bins);
  histogram.positives[bins - 1] = tp;
  histogram.positives[1] = fn;
  histogram.negatives[bins - 2] = fp;
  histogram.negatives[0] = tn;
  return { confusion: { tp, fp, tn, fn }, histogram };
}

describe('secure evaluation vectors (common/secagg/evaluation.ts)', () => {
  it('lays out tp, fp, tn, fn, positives, negatives and decodes a sum mod 2^32 exactly', () => {
    const a = counts(3, 5, 90, 2);
    const b = counts(7, 1, 4_000_000_000 - 100, 0);
    const ea = encodeEvaluationCounts(a.confusion, a.histogram);
    const eb = encodeEvaluationCounts(b.confusion, b.histogram);
    expect(ea.length).toBe(evaluationVectorLength(8));
    expect(Array.from(ea.subarray(0, 4))).toEqual([3, 5, 90, 2]);
    // Masks cancel to the plain sum mod 2^32: add a random mask to one vector and its negation to the other.
    const mask = Uint32Array.from({ length: ea.length }, (_, i) => (i * 2_654_435_761) >>> 0);
    const sum = new Uint32Array(ea.length);
    for (let i = 0; i < sum.length; i++) sum[i] = (ea[i]! + mask[i]! + eb[i]! - mask[i]! + 2 ** 32) >>> 0;
    const pooled = decodeEvaluationSum(sum, 8, 100 + 4_000_000_000 - 100 + 8);
    expect(pooled.confusion).toEqual({ tp: 10, fp: 6, tn: 4_000_000_000 - 10, fn: 2 });
    expect(pooled.histogram.positives[7]).toBe(10);
    expect(pooled.histogram.negatives[0]).toBe(4_000_000_000 - 10);
    expect(pooled.histogram.bins).toBe(8);
  });

  it('refuses counts that are not integers in [0, 2^32), a sum of the wrong length, and totals that could wrap', () => {
    const ok = counts(1, 1, 1, 1);
    expect(() => encodeEvaluationCounts({ ...ok.confusion, tp: -1 }, ok.histogram)).toThrow(/tp = -1/);
    expect(() => encodeEvaluationCounts({ ...ok.confusion, fn: 1.5 }, ok.histogram)).toThrow(/fn = 1.5/);
    expect(() => encodeEvaluationCounts(ok.confusion, { ...ok.histogram, bins: 9 })).toThrow(/exactly bins = 9/);
    expect(() => decodeEvaluationSum(new Uint32Array(10), 8, 4)).toThrow(/10 words, 20 expected for 8 bins/);
    expect(() => decodeEvaluationSum(new Uint32Array(20), 8, 2 ** 32)).toThrow(/exact only below 2\^32/);
  });
});
