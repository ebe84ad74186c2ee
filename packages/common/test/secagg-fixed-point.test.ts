import { describe, expect, it } from 'vitest';
import {
  SecAggError,
  checkFixedPointParams,
  decodeFixedPointSum,
  encodeCounts,
  encodeFixedPoint,
  maxFractionalBits,
  seededRandomSource,
  sumErrorBound,
  type FixedPointParams,
} from '../src/secagg/index.js';
import { seedFor } from './secagg-harness.js';

const P: FixedPointParams = { fractionalBits: 16, clip: 1, maxWeight: 1, maxBanks: 100 };

describe('fixed-point encoding', () => {
  it('clips, weights and rounds; the decoded sum is within n · 2^-f of the exact weighted sum', () => {
    const n = 100;
    const len = 2000;
    const sum = new Uint32Array(len);
    const exact = new Float64Array(len);
    let clipped = 0;
    for (let b = 0; b < n; b++) {
      const x = Float32Array.from({ length: len }, (_, j) => Math.sin(b * 31 + j) * 1.3);
      const w = (b % 7) / 6;
      const enc = encodeFixedPoint(x, w, P, seededRandomSource(seedFor(`sr${b}`)));
      clipped += enc.clipped;
      for (let j = 0; j < len; j++) {
        sum[j] += enc.encoded[j]!;
        exact[j] += w * Math.max(-1, Math.min(1, x[j]!));
      }
    }
    expect(clipped).toBeGreaterThan(0);
    const dec = decodeFixedPointSum(sum, P);
    let worst = 0;
    for (let j = 0; j < len; j++) worst = Math.max(worst, Math.abs(dec[j]! - exact[j]!));
    expect(worst).toBeLessThan(sumErrorBound(P, n));
    // Stochastic rounding is unbiased: the mean error is far below the bound.
    let mean = 0;
    for (let j = 0; j < len; j++) mean += dec[j]! - exact[j]!;
    expect(Math.abs(mean / len)).toBeLessThan(sumErrorBound(P, n) / 20);
  });

  it('rounds stochastically without bias (0.25 ulp → 1 a quarter of the time)', () => {
    const x = new Float32Array(40_000).fill(0.25 / 2 ** 16);
    const enc = encodeFixedPoint(x, 1, P, seededRandomSource(seedFor('q'))).encoded;
    const ones = enc.filter((v) => v === 1).length;
    expect(enc.every((v) => v === 0 || v === 1)).toBe(true);
    expect(Math.abs(ones / x.length - 0.25)).toBeLessThan(0.015);
  });

  it('encodes negatives as two’s complement and reads the sum back signed', () => {
    const enc = encodeFixedPoint(new Float32Array([-1, -0.5, 0.5, 1]), 1, P).encoded;
    expect(Array.from(enc)).toEqual([2 ** 32 - 65536, 2 ** 32 - 32768, 32768, 65536]);
    expect(Array.from(decodeFixedPointSum(enc, P))).toEqual([-1, -0.5, 0.5, 1]);
  });

  it('refuses parameters whose sum could overflow mod 2^32, naming the limit', () => {
    // 100 banks × 2^16 × wMax 1000 > 2^31.
    expect(() => checkFixedPointParams({ ...P, maxWeight: 1000 })).toThrow(
      /exceeds 2\^31 − 1.*fractionalBits to 14 or below/,
    );
    // The bound is tight: the largest admissible f passes, f + 1 does not.
    const f = maxFractionalBits(1, 1, 100);
    expect(f).toBe(24);
    expect(() => checkFixedPointParams({ ...P, fractionalBits: f })).not.toThrow();
    expect(() => checkFixedPointParams({ ...P, fractionalBits: f + 1 })).toThrow(SecAggError);
    // At the limit the extreme sum is still read back exactly.
    const edge: FixedPointParams = { ...P, fractionalBits: f, maxBanks: 100 };
    const sum = new Uint32Array(2);
    for (let b = 0; b < 100; b++) {
      const e = encodeFixedPoint(new Float32Array([-5, 5]), 1, edge).encoded;
      sum[0] += e[0]!;
      sum[1] += e[1]!;
    }
    expect(Array.from(decodeFixedPointSum(sum, edge))).toEqual([-100, 100]);
  });

  it('refuses non-finite coordinates and weights out of range', () => {
    expect(() => encodeFixedPoint(new Float32Array([0, NaN]), 1, P)).toThrow(/coordinate 1 is NaN/);
    expect(() => encodeFixedPoint(new Float32Array([0]), 1.5, P)).toThrow(/weight 1.5/);
  });

  it('sums integer counts exactly and refuses counts that could overflow', () => {
    expect(Array.from(encodeCounts([0, 5, 1000], 1000, 10))).toEqual([0, 5, 1000]);
    expect(() => encodeCounts([1.5], 1000, 10)).toThrow(/entry 0/);
    expect(() => encodeCounts([1], 2 ** 31, 10)).toThrow(/exceeds 2\^32/);
  });
});
