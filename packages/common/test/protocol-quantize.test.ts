import { describe, expect, it } from 'vitest';
import {
  FLOAT16_MAX,
  decodeFloat16,
  dequantizeInt8,
  encodeFloat16,
  firstNonFinite,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  int8Scale,
  quantizeInt8,
} from '@finsecure/common/protocol';
import { createRng } from '../src/rng/index.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function floatFromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}
function bitsFromFloat(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** Exact value of a finite non-negative half, computed independently of quantize.ts. */
function halfValue(h: number): number {
  const exp = h >> 10;
  const mant = h & 0x3ff;
  return exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Reference rounding by search: the nearest half to a non-negative value, ties to the
 * even bit pattern; beyond the last finite half, 2^16 stands in for Infinity.
 */
function referenceHalf(v: number): number {
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (halfValue(mid) <= v) lo = mid;
    else hi = mid - 1;
  }
  const below = halfValue(lo);
  const above = lo === 0x7bff ? 65536 : halfValue(lo + 1);
  if (v - below < above - v) return lo;
  if (v - below > above - v) return lo + 1;
  return lo % 2 === 0 ? lo : lo + 1;
}

describe('float16', () => {
  it('round-trips every finite half, both signs, bit for bit', () => {
    const wrong: number[] = [];
    for (let h = 0; h <= 0x7bff; h++) {
      if (float32ToFloat16Bits(float16BitsToFloat32(h)) !== h) wrong.push(h);
      if (float32ToFloat16Bits(float16BitsToFloat32(h | 0x8000)) !== (h | 0x8000)) wrong.push(h | 0x8000);
    }
    expect(wrong).toEqual([]);
  });

  it('decodes to the exact IEEE values, including subnormals, max and infinities', () => {
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14); // smallest normal
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x7bff)).toBe(FLOAT16_MAX);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
  });

  it('encodes special values', () => {
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    const nan = float32ToFloat16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff); // below the overflow midpoint
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // midpoint, 65504 is odd: ties to Inf
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie between 0 and 2^-24: even is 0
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 ulps: even is 2
    expect(float32ToFloat16Bits(floatFromBits(bitsFromFloat(2 ** -25) + 1))).toBe(1); // just above the tie
    expect(float32ToFloat16Bits(1e-40)).toBe(0); // float32 subnormal
  });

  it('rounds to nearest, ties to even, at every midpoint between adjacent halves', () => {
    const wrong: string[] = [];
    const check = (v: number, want: number) => {
      const got = float32ToFloat16Bits(v);
      if (got !== want) wrong.push(`${v} → ${got.toString(16)}, want ${want.toString(16)}`);
    };
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (halfValue(h) + halfValue(h + 1)) / 2; // exact in float32 (12 significant bits)
      const even = h % 2 === 0 ? h : h + 1;
      check(mid, even);
      check(-mid, even | 0x8000);
      const midBits = bitsFromFloat(mid);
      check(floatFromBits(midBits - 1), h); // one float32 ulp below the tie
      check(floatFromBits(midBits + 1), h + 1); // one above
    }
    expect(wrong).toEqual([]);
  });

  it('matches a reference search on random float32 bit patterns across the whole half range', () => {
    const rng = createRng(7);
    const wrong: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Exponents 100..143 cover below-subnormal, subnormal, normal and overflow.
      const v = floatFromBits(((100 + rng.int(44)) << 23) | rng.int(1 << 23));
      if (float32ToFloat16Bits(v) !== referenceHalf(v)) wrong.push(v);
    }
    expect(wrong).toEqual([]);
  });

  it('relative error ≤ 2^-11 in the normal range, absolute error ≤ 2^-25 in the subnormal range', () => {
    const rng = createRng(11);
    const n = 100_000;
    const normal = new Float32Array(n);
    const tiny = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const sign = rng.next() < 0.5 ? -1 : 1;
      normal[i] = sign * 2 ** (-14 + rng.next() * 29.99); // [2^-14, ~65000]
      tiny[i] = sign * rng.next() * 2 ** -14;
    }
    const back = decodeFloat16(encodeFloat16(normal));
    const backTiny = decodeFloat16(encodeFloat16(tiny));
    let worstRelative = 0;
    let worstAbsolute = 0;
    for (let i = 0; i < n; i++) {
      worstRelative = Math.max(worstRelative, Math.abs(back[i] - normal[i]) / Math.abs(normal[i]));
      worstAbsolute = Math.max(worstAbsolute, Math.abs(backTiny[i] - tiny[i]));
    }
    expect(worstRelative).toBeLessThanOrEqual(2 ** -11);
    expect(worstRelative).toBeGreaterThan(2 ** -13); // the bound is tight, not vacuous
    expect(worstAbsolute).toBeLessThanOrEqual(2 ** -25);
  });

  it('array and scalar conversions agree, and output buffers must match the input length', () => {
    const src = new Float32Array([0, 1.5, -3.25, 1e-6, 60000, 2 ** -20]);
    const halves = encodeFloat16(src);
    src.forEach((v, i) => expect(halves[i]).toBe(float32ToFloat16Bits(v)));
    const out = new Uint16Array(src.length);
    expect(encodeFloat16(src, out)).toBe(out);
    expect(() => encodeFloat16(src, new Uint16Array(2))).toThrow(RangeError);
    expect(() => decodeFloat16(halves, new Float32Array(1))).toThrow(RangeError);
  });
});

describe('int8', () => {
  function randomTensor(seed: number, n: number, magnitude: number): Float32Array {
    const rng = createRng(seed);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.normal() * magnitude;
    return out;
  }

  it('scale is maxAbs/127 and the largest magnitude maps to ±127', () => {
    const src = new Float32Array([0.5, -2.54, 1, 0]);
    const { values, scale } = quantizeInt8(src);
    expect(scale).toBe(Math.fround(2.54) / 127);
    expect(int8Scale(src)).toBe(scale);
    expect(values[1]).toBe(-127);
    expect(Array.from(values)).toEqual([25, -127, 50, 0]);
  });

  it.each([
    [1, 1e-3],
    [2, 1],
    [3, 1e4],
    [4, 1e-30],
  ])('quantization error ≤ scale/2 per element (seed %i, magnitude %d)', (seed, magnitude) => {
    const src = randomTensor(seed, 20_000, magnitude);
    const { values, scale } = quantizeInt8(src);
    const back = dequantizeInt8(values, scale);
    let worstQuantized = 0; // in units of scale/2
    let worstDecoded = 0; // in units of the bound below
    for (let i = 0; i < src.length; i++) {
      // The quantizer itself, measured in float64: within half a step.
      worstQuantized = Math.max(worstQuantized, Math.abs(src[i] - values[i] * scale) / (scale / 2));
      // The float32 result adds at most its own rounding (2^-24 relative) on top.
      const bound = scale / 2 + Math.abs(back[i]) * 2 ** -24;
      worstDecoded = Math.max(worstDecoded, Math.abs(src[i] - back[i]) / bound);
    }
    expect(worstQuantized).toBeLessThanOrEqual(1 + 1e-12);
    expect(worstQuantized).toBeGreaterThan(0.9); // tight, not vacuous
    expect(worstDecoded).toBeLessThanOrEqual(1 + 1e-12);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-127);
  });

  it('is symmetric: q(−x) = −q(x), halves round away from zero', () => {
    const src = new Float32Array([127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5]);
    const { values, scale } = quantizeInt8(src);
    expect(scale).toBe(1);
    expect(Array.from(values)).toEqual([127, 1, -1, 2, -2, 3, -3]);
  });

  it('an all-zero tensor has scale 0 and decodes to zeros', () => {
    const { values, scale } = quantizeInt8(new Float32Array(9));
    expect(scale).toBe(0);
    expect(Array.from(dequantizeInt8(values, scale))).toEqual(new Array(9).fill(0));
    expect(quantizeInt8(new Float32Array(0)).scale).toBe(0);
  });

  it('clamps to ±127 when the caller supplies a smaller scale, and rejects bad scales', () => {
    const { values } = quantizeInt8(new Float32Array([10, -10, 0.1]), { scale: 0.01 });
    expect(Array.from(values)).toEqual([127, -127, 10]);
    expect(() => quantizeInt8(new Float32Array([1]), { scale: NaN })).toThrow(RangeError);
    expect(() => quantizeInt8(new Float32Array([1]), { scale: -1 })).toThrow(RangeError);
  });

  it('writes into a caller-supplied buffer', () => {
    const out = new Int8Array(3);
    expect(quantizeInt8(new Float32Array([1, 2, 3]), { out }).values).toBe(out);
    expect(() => quantizeInt8(new Float32Array([1, 2, 3]), { out: new Int8Array(2) })).toThrow(RangeError);
  });
});

describe('firstNonFinite', () => {
  it('finds the first NaN/Inf, or the first value at or over a limit', () => {
    expect(firstNonFinite(new Float32Array([1, 2, 3]))).toBe(-1);
    expect(firstNonFinite(new Float32Array([1, NaN, Infinity]))).toBe(1);
    expect(firstNonFinite(new Float32Array([1, 2, -Infinity]))).toBe(2);
    expect(firstNonFinite(new Float32Array([1, -70000, 3]), 65520)).toBe(1);
    expect(firstNonFinite(new Float32Array([65519, -65504]), 65520)).toBe(-1);
  });
});
