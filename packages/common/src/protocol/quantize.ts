/**
 * Lossy encodings for model updates on the wire: IEEE-754 half precision and int8 with
 * one symmetric scale per tensor. Pure functions over typed arrays, independent of byte
 * order (halves are returned as host-order uint16 values; frame.ts decides how they are
 * laid out in bytes). Each takes an optional `out` so the frame codec can write straight
 * into the frame buffer instead of allocating and copying.
 */

/** Largest finite half: (2 − 2^-10) · 2^15. */
export const FLOAT16_MAX = 65504;

/**
 * Smallest magnitude that rounds to +Inf in half precision: the midpoint between
 * FLOAT16_MAX and 2^16. Ties go to even, and 65504's mantissa is odd, so it rounds up.
 */
export const FLOAT16_OVERFLOW = 65520;

// Scratch views for the scalar conversion (reading a float32's bits portably).
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * float32 bit pattern → half bit pattern, round-to-nearest-even, subnormals included.
 * Integer-only so that no intermediate float rounding can cause double rounding.
 */
function halfFromFloatBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00); // NaN (quiet) / Inf
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ FLOAT16_OVERFLOW: rounds to Inf
  const exp = abs >>> 23;
  if (exp >= 113) {
    // Normal half: rebias the exponent (127 → 15) and drop 13 mantissa bits. A carry out
    // of the mantissa correctly bumps the exponent (at most to 0x7bff+1 = 0x7c00, which
    // the overflow test above already excludes).
    const mant = abs & 0x7fffff;
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  // Subnormal half: value / 2^-24 = m · 2^(exp − 126), m the 24-bit significand.
  const shift = 126 - exp;
  if (shift > 24) return sign; // < 2^-25 (half of the smallest subnormal): rounds to ±0
  const m = (abs & 0x7fffff) | 0x800000;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++; // may carry into 0x400 = min normal
  return sign | h;
}

/** Rounds `x` to float32 first (frames carry float32 data), then to the nearest half. */
export function float32ToFloat16Bits(x: number): number {
  scratchF32[0] = x;
  return halfFromFloatBits(scratchU32[0]);
}

let halfTable: Float32Array | undefined;

/** All 65,536 halves as float32, built once: decoding becomes one table lookup per value. */
function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    let v: number;
    if (exp === 0)
      v = mant * 2 ** -24; // subnormal (exact)
    else if (exp === 31) v = mant === 0 ? Infinity : NaN;
    else v = (1 + mant / 1024) * 2 ** (exp - 15); // exact in float64 and float32
    table[h] = h & 0x8000 ? -v : v;
  }
  halfTable = table;
  return table;
}

export function float16BitsToFloat32(h: number): number {
  return float16Table()[h & 0xffff];
}

/** Converts every value to half bits (host-order uint16). NaN/Inf/overflow become NaN/±Inf halves. */
export function encodeFloat16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkOut(out.length, src.length);
  // Float32Array offsets are always 4-aligned, so a Uint32Array view of the same bytes
  // reads each float's bit pattern without copying (same host order on both views).
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfFromFloatBits(bits[i]);
  return out;
}

export function decodeFloat16(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkOut(out.length, src.length);
  const table = float16Table();
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out;
}

/**
 * Per-tensor symmetric int8 scale: maxAbs / 127, so the largest magnitude maps to ±127
 * and −128 is never produced (keeps quantization symmetric around zero). An all-zero
 * tensor has scale 0. Non-finite input gives a non-finite scale; callers reject it first.
 */
export function int8Scale(src: Float32Array): number {
  let maxAbs = 0;
  for (let i = 0; i < src.length; i++) {
    const a = Math.abs(src[i]);
    if (a > maxAbs || a !== a) maxAbs = a; // a !== a: let NaN propagate instead of vanishing
  }
  return maxAbs / 127;
}

/**
 * q = round(x / scale), half away from zero, clamped to [−127, 127]. With the default
 * scale every |x − q·scale| ≤ scale/2. A caller-supplied smaller scale clamps outliers.
 */
export function quantizeInt8(
  src: Float32Array,
  opts: { scale?: number; out?: Int8Array } = {},
): { values: Int8Array; scale: number } {
  const scale = opts.scale ?? int8Scale(src);
  if (!(scale >= 0 && Number.isFinite(scale))) throw new RangeError(`int8 scale must be finite and ≥ 0, got ${scale}`);
  const out = opts.out ?? new Int8Array(src.length);
  checkOut(out.length, src.length);
  if (scale === 0) {
    out.fill(0);
    return { values: out, scale };
  }
  for (let i = 0; i < src.length; i++) {
    // Divide (not multiply by 1/scale): one rounding instead of two keeps the bound tight.
    const r = src[i] / scale;
    const q = r < 0 ? -Math.round(-r) : Math.round(r);
    out[i] = q > 127 ? 127 : q < -127 ? -127 : q;
  }
  return { values: out, scale };
}

export function dequantizeInt8(
  src: Int8Array,
  scale: number,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  checkOut(out.length, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] * scale;
  return out;
}

/** Index of the first NaN/±Inf (or |x| ≥ limit), −1 if none. One read-only pass. */
export function firstNonFinite(data: Float32Array, limit = Infinity): number {
  for (let i = 0; i < data.length; i++) {
    // Written as !(a < limit) so NaN (all comparisons false) is caught by the same test.
    if (!(Math.abs(data[i]) < limit)) return i;
  }
  return -1;
}

function checkOut(outLength: number, srcLength: number): void {
  if (outLength !== srcLength) throw new RangeError(`output has ${outLength} elements, input has ${srcLength}`);
}
