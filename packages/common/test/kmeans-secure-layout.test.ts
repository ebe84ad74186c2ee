import { describe, expect, it } from 'vitest';
import { answerVector, pooledAnswer, secureFixedPoint, secureVectorLength } from '../src/kmeans/index.js';
import { decodeFixedPointSum, encodeFixedPoint } from '../src/secagg/index.js';

const scaling = { mean: [0, 0], std: [1, 1] };
const lloyd = {
  kind: 'segment_lloyd' as const,
  minCustomers: 1,
  iteration: 2,
  scaling,
  k: 2,
  d: 2,
  centres: [0, 0, 1, 1],
};

describe('secure segmentation vectors (common/kmeans/secure-layout.ts)', () => {
  it('lays out sums, counts, frauds and a labelled flag; the decoded sum of two banks is their pooled answer', () => {
    expect(secureVectorLength(lloyd)).toBe(2 * 2 + 2 * 2 + 1);
    const a = {
      kind: 'segment_lloyd' as const,
      iteration: 2,
      sums: [1.5, -2, 3, 0.25],
      counts: [3, 4],
      frauds: [1, 0],
    };
    const b = {
      kind: 'segment_lloyd' as const,
      iteration: 2,
      sums: [0.5, 2, -1, 0.75],
      counts: [1, 6],
      frauds: [0, 2],
    };
    const fp = secureFixedPoint(lloyd, 10, 2);
    const enc = [a, b].map((x) => encodeFixedPoint(answerVector(lloyd, x), 1, fp).encoded);
    const sum = new Uint32Array(enc[0]!.length);
    for (let i = 0; i < sum.length; i++) sum[i] = (enc[0]![i]! + enc[1]![i]!) >>> 0;
    const pooled = pooledAnswer(lloyd, decodeFixedPointSum(sum, fp), 2);
    expect(pooled.kind).toBe('segment_lloyd');
    if (pooled.kind !== 'segment_lloyd') return;
    expect(pooled.counts).toEqual([4, 10]); // exact: rounded without DP
    expect(pooled.frauds).toEqual([1, 2]); // both banks labelled
    pooled.sums.forEach((v, i) =>
      expect(Math.abs(v - (a.sums[i]! + b.sums[i]!))).toBeLessThanOrEqual(2 * 2 ** -fp.fractionalBits),
    );
    // One bank without labels: no pooled fraud counts (as in the plaintext job).
    const c = { ...b, frauds: undefined };
    const enc2 = encodeFixedPoint(answerVector(lloyd, c), 1, fp).encoded;
    const sum2 = new Uint32Array(sum.length);
    for (let i = 0; i < sum.length; i++) sum2[i] = (enc[0]![i]! + enc2[i]!) >>> 0;
    expect(pooledAnswer(lloyd, decodeFixedPointSum(sum2, fp), 2)).not.toHaveProperty('frauds');
  });

  it('sizes the fixed-point range from the largest declared customer count, and refuses one that cannot fit', () => {
    const fp = secureFixedPoint(lloyd, 1000, 10);
    expect(fp.clip).toBe(100_000); // 1,000 customers × Z_MAX = 100 standard deviations
    expect(10 * fp.clip * 2 ** fp.fractionalBits).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(() => secureFixedPoint(lloyd, 1e9, 100)).toThrow(/cannot be summed over 100 banks in 32 bits/);
  });
});
