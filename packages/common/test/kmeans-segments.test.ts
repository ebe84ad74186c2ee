/** Segmentation helpers: Chan-merged moments, scaling round trip, fraud counts with DP noise, names, night hours, small-segment suppression. */
import { describe, expect, it } from 'vitest';
import {
  CustomerFeatureAccumulator,
  CUSTOMER_FEATURES,
  mergeMomentsChan,
  momentsOf,
  scalePoints,
  scalingOf,
  segmentNames,
  segmentSigma,
  segmentStatistics,
  suppressSmallSegments,
  unscaleCentres,
  type Points,
} from '@finsecure/common/kmeans';
import { createRng } from '@finsecure/common/rng';

function randomPoints(n: number, d: number, seed: number, offset = 0): Points {
  const rng = createRng(seed);
  return { data: Float64Array.from({ length: n * d }, () => offset + 1e6 + rng.normal() * 3), n, d };
}

describe('moments and scaling', () => {
  it('Chan-merged moments equal the moments of the union (large mean, small spread)', () => {
    const parts = [randomPoints(50, 3, 1), randomPoints(120, 3, 2, 5), randomPoints(7, 3, 3, -2)];
    const union: Points = { data: Float64Array.from(parts.flatMap((p) => Array.from(p.data))), n: 177, d: 3 };
    const merged = mergeMomentsChan(parts.map(momentsOf));
    const direct = momentsOf(union);
    expect(merged.count).toBe(177);
    for (let t = 0; t < 3; t++) {
      expect(merged.mean[t]).toBeCloseTo(direct.mean[t]!, 6);
      expect(merged.m2[t]! / direct.m2[t]!).toBeCloseTo(1, 9);
    }
    expect(() => mergeMomentsChan([])).toThrow(/at least one/);
  });

  it('scale then unscale returns the original values; a constant feature gets std 1', () => {
    const p: Points = { data: Float64Array.from([1, 5, 3, 5, 8, 5]), n: 3, d: 2 };
    const s = scalingOf(momentsOf(p));
    expect(s.std[1]).toBe(1);
    const back = unscaleCentres({ ...scalePoints(p, s), k: 3 }, s);
    back.data.forEach((v, i) => expect(v).toBeCloseTo(p.data[i]!, 12));
  });
});

describe('segment statistics', () => {
  it('counts customers with fraud per segment; with DP every coordinate is noised with σ = z·√(C² + 2)', () => {
    const p: Points = { data: Float64Array.from([0, 0, 0.1, 0, 5, 5, 5.1, 5]), n: 4, d: 2 };
    const c = { data: Float64Array.from([0, 0, 5, 5]), k: 2, d: 2 };
    const exact = segmentStatistics(p, c, Uint8Array.from([1, 0, 1, 1]));
    expect(Array.from(exact.counts)).toEqual([2, 2]);
    expect(Array.from(exact.frauds!)).toEqual([1, 2]);
    expect(segmentSigma({ clip: 2, noiseMultiplier: 1.5 }, true)).toBeCloseTo(1.5 * Math.sqrt(6), 12);
    const noised = segmentStatistics(p, c, Uint8Array.from([1, 0, 1, 1]), {
      privacy: { clip: 2, noiseMultiplier: 1.5 },
      rng: createRng(4),
    });
    expect(Array.from(noised.frauds!)).not.toEqual([1, 2]);
    expect(segmentStatistics(p, c, null).frauds).toBeUndefined();
  });
});

describe('segment names', () => {
  it('names the two features furthest from the consortium mean, in words', () => {
    const d = CUSTOMER_FEATURES.length;
    const scaled = { data: new Float64Array(3 * d), k: 3, d };
    const original = { data: new Float64Array(3 * d), k: 3, d };
    scaled.data[0] = 2; // mean_amount high
    scaled.data[3] = 1.5; // night_share high
    original.data[3] = 0.7;
    scaled.data[d + 2] = -1; // tx_per_day low
    expect(segmentNames(scaled, original, CUSTOMER_FEATURES)).toEqual([
      'high amount, mostly at night',
      'occasional',
      'typical',
    ]);
  });
});

describe('night hours', () => {
  it('night is 00:00–05:59, as in the account features', () => {
    const acc = new CustomerFeatureAccumulator();
    acc.add('a', 1, '2018-04-02 05:59:00', 't');
    acc.add('a', 1, '2018-04-02 06:00:00', 't');
    expect(acc.finish().points.data[3]).toBe(0.5);
  });
});

describe('suppressSmallSegments (small-cell suppression of exact Lloyd answers)', () => {
  const s = {
    k: 3,
    d: 2,
    sums: Float64Array.from([10, 20, 1.5, -2, 0, 0]),
    counts: Float64Array.from([12, 1, 0]),
    frauds: Float64Array.from([2, 1, 0]),
  };

  it('empties each segment of fewer than min customers, but some; leaves the input alone', () => {
    const { statistics, suppressed } = suppressSmallSegments(s, 10);
    expect(Array.from(statistics.sums)).toEqual([10, 20, 0, 0, 0, 0]);
    expect(Array.from(statistics.counts)).toEqual([12, 0, 0]);
    expect(Array.from(statistics.frauds!)).toEqual([2, 0, 0]);
    expect(suppressed).toEqual({ segments: 1, customers: 1 });
    expect(Array.from(s.sums)).toEqual([10, 20, 1.5, -2, 0, 0]);
  });

  it('keeps every segment at min 1 and one of exactly min; refuses a min that is not a positive integer', () => {
    expect(suppressSmallSegments(s, 1).suppressed).toEqual({ segments: 0, customers: 0 });
    expect(Array.from(suppressSmallSegments(s, 12).statistics.counts)).toEqual([12, 0, 0]);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => suppressSmallSegments(s, bad)).toThrow(/positive integer/);
  });

  it('noised: empties every segment whose noised count is below min, negative ones included', () => {
    const noised = {
      k: 3,
      d: 1,
      sums: Float64Array.from([40.2, 3.1, -1.7]),
      counts: Float64Array.from([11.3, 2.4, -0.6]),
    };
    const { statistics, suppressed } = suppressSmallSegments(noised, 10, { noised: true });
    expect(Array.from(statistics.counts)).toEqual([11.3, 0, 0]);
    expect(Array.from(statistics.sums)).toEqual([40.2, 0, 0]);
    expect(suppressed.segments).toBe(2);
    expect(suppressed.customers).toBeCloseTo(2.4, 12);
  });
});
