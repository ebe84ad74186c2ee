/** Robust z-scores (median/MAD), reasons ranked and said in words, contamination thresholds. */
import { describe, expect, it } from 'vitest';
import {
  contaminationThreshold,
  describeReason,
  describeReasons,
  matrixFromRows,
  quantile,
  robustStats,
  robustZ,
  topReasons,
} from '../src/anomaly/index.js';

describe('robust statistics', () => {
  it('median and 1.4826·MAD per feature; falls back to 1.2533·mean deviation when MAD is 0', () => {
    const x = matrixFromRows([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
      [100, 4],
    ]);
    const s = robustStats(x);
    expect(Array.from(s.median)).toEqual([3, 0]);
    expect(s.scale[0]).toBeCloseTo(1.4826 * 1, 12); // |x − 3| = 2,1,0,1,97 → MAD 1
    expect(s.scale[1]).toBeCloseTo(1.2533 * (4 / 5), 12);
    expect(robustZ(100, s, 0)).toBeCloseTo(97 / 1.4826, 9);
    expect(robustZ(3, s, 0)).toBe(0);
  });

  it('a constant feature gives z = 0 for its value and ±Infinity for any other', () => {
    const s = robustStats(matrixFromRows([[5], [5], [5]]));
    expect(s.scale[0]).toBe(0);
    expect(robustZ(5, s, 0)).toBe(0);
    expect(robustZ(6, s, 0)).toBe(Infinity);
    expect(robustZ(4, s, 0)).toBe(-Infinity);
  });
});

describe('reasons', () => {
  const stats = robustStats(
    matrixFromRows([
      [10, 0.1, 3],
      [20, 0.2, 3],
      [30, 0.1, 3],
      [40, 0.3, 3],
      [50, 0.2, 3],
    ]),
  );
  const names = ['amount_mean', 'night_share', 'merchants'];

  it('ranks by |z| without attribution and by attribution share with it', () => {
    const values = [200, 0.5, 3];
    const byZ = topReasons({ names, values, stats });
    expect(byZ.map((r) => r.feature)).toEqual(['amount_mean', 'night_share']); // merchants: z = 0, not a reason
    const byShare = topReasons({ names, values, stats, attribution: [0.2, 0.8, 0] });
    expect(byShare[0].feature).toBe('night_share');
    expect(byShare[0].share).toBe(0.8);
    expect(topReasons({ names, values, stats, top: 1 })).toHaveLength(1);
  });

  it('says each reason in words', () => {
    const [r] = topReasons({ names, values: [72, 0.2, 3], stats });
    // median 30, MAD 10 → scale 14.826; (72 − 30) / 14.826 = 2.83
    expect(describeReason(r, { amount_mean: 'Mean amount' })).toBe(
      "Mean amount is 2.8 robust SDs above this bank's median (72 vs 30)",
    );
    const low = topReasons({ names, values: [1, 0.2, 3], stats, attribution: [0.45, 0, 0] });
    expect(describeReason(low[0])).toBe(
      "amount_mean is 2.0 robust SDs below this bank's median (1 vs 30; 45% of the isolation)",
    );
    const big = topReasons({ names, values: [12345.678, 0.2, 3], stats });
    expect(describeReason(big[0])).toBe("amount_mean is 830.7 robust SDs above this bank's median (12,346 vs 30)");
    const inf = topReasons({ names, values: [30, 0.2, 9], stats });
    expect(describeReasons(inf)).toBe('merchants is 9 while every account of this bank has 3');
  });
});

describe('thresholds', () => {
  it('quantile is numpy linear interpolation', () => {
    // numpy.percentile([1, 2, 3, 4], 90) = 3.7
    expect(quantile([4, 1, 3, 2], 0.9)).toBeCloseTo(3.7, 12);
    expect(quantile([5], 0.3)).toBe(5);
  });

  it('contamination c flags about c of the rows and validates c', () => {
    const scores = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const t = contaminationThreshold(scores, 0.01);
    expect(scores.filter((s) => s > t)).toHaveLength(10);
    expect(() => contaminationThreshold(scores, 0)).toThrow(/contamination must be in/);
    expect(() => contaminationThreshold(scores, 0.6)).toThrow(/contamination/);
  });
});
