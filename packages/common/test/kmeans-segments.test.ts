/** Segmentation helpers: Chan-merged moments, scaling round trip, fraud counts with DP noise, names, night hours. */
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
