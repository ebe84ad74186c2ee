/**
 * Fixed-point encoding of float updates into Z_{2^32}, so that masked vectors can be
 * summed exactly (Bonawitz et al. 2017 work over Z_R; Kairouz, Liu & Steinke 2021,
 * "The Distributed Discrete Gaussian Mechanism", for clip → scale → stochastic round).
 *
 * A bank encodes v_j = SR(w · clip(x_j, ±c) · 2^f) where SR is unbiased stochastic
 * rounding (floor, plus 1 with probability equal to the fractional part) and stores it
 * as a two's-complement uint32. The aggregator reads the unmasked sum back as a signed
 * int32 and divides by 2^f.
 *
 * Overflow bound: |v_j| ≤ M = ceil(wMax · c · 2^f), so |Σ v_j| ≤ n · M for n banks. The
 * sum is read unambiguously iff n · M ≤ 2^31 − 1; parameters that break it are refused.
 *
 * Error bound: each SR error is in (−1, 1) units of 2^−f, so for every coordinate
 * |decoded sum − Σ_i w_i · clip(x_i)| < n · 2^−f (and E[error] = 0).
 */
import { SecAggError } from './errors.js';
import { cryptoRandomSource, type RandomSource } from './random.js';

export interface FixedPointParams {
  /** f: the scale is 2^f. 0 ≤ f ≤ 30. */
  fractionalBits: number;
  /** c: every coordinate is clipped to [−c, c] before weighting. c > 0. */
  clip: number;
  /** wMax: the largest weight a bank may apply (e.g. 1 for normalised weights). */
  maxWeight: number;
  /** n: the most banks whose vectors are summed (the round's participants). */
  maxBanks: number;
}

const INT32_MAX = 2 ** 31 - 1;
const CHUNK = 1 << 14;

/** M = ceil(wMax · c · 2^f): the largest |encoded coordinate| of one bank. */
export function maxEncodedMagnitude(p: FixedPointParams): number {
  return Math.ceil(p.maxWeight * p.clip * 2 ** p.fractionalBits);
}

/**
 * Checks the parameters, including the overflow bound n · M ≤ 2^31 − 1. Throws
 * SecAggError('out_of_range') naming the setting that is wrong.
 */
export function checkFixedPointParams(p: FixedPointParams): void {
  const bad = (msg: string): never => {
    throw new SecAggError('out_of_range', `fixed point: ${msg}`);
  };
  if (!Number.isInteger(p.fractionalBits) || p.fractionalBits < 0 || p.fractionalBits > 30)
    bad(`fractionalBits ${p.fractionalBits} must be an integer in [0, 30]`);
  if (!(Number.isFinite(p.clip) && p.clip > 0)) bad(`clip ${p.clip} must be a positive number`);
  if (!(Number.isFinite(p.maxWeight) && p.maxWeight > 0)) bad(`maxWeight ${p.maxWeight} must be a positive number`);
  if (!Number.isInteger(p.maxBanks) || p.maxBanks < 1) bad(`maxBanks ${p.maxBanks} must be a positive integer`);
  const bound = p.maxBanks * maxEncodedMagnitude(p);
  if (bound > INT32_MAX) {
    bad(
      `${p.maxBanks} banks × ceil(maxWeight ${p.maxWeight} × clip ${p.clip} × 2^${p.fractionalBits}) = ${bound} ` +
        `exceeds 2^31 − 1: the sum could overflow mod 2^32 (lower fractionalBits to ` +
        `${maxFractionalBits(p.clip, p.maxWeight, p.maxBanks)} or below)`,
    );
  }
}

/** The largest f for which n banks cannot overflow (−1 if none, i.e. even f = 0 overflows). */
export function maxFractionalBits(clip: number, maxWeight: number, maxBanks: number): number {
  for (let f = 30; f >= 0; f--) {
    if (maxBanks * Math.ceil(maxWeight * clip * 2 ** f) <= INT32_MAX) return f;
  }
  return -1;
}

/** n · 2^−f: strict bound on |decoded sum − exact weighted sum of clipped values| per coordinate. */
export function sumErrorBound(p: FixedPointParams, banks: number = p.maxBanks): number {
  return banks * 2 ** -p.fractionalBits;
}

export interface EncodedUpdate {
  /** Two's-complement fixed-point words, same length as the update. */
  encoded: Uint32Array;
  /** How many coordinates were clipped to ±c. */
  clipped: number;
}

/**
 * Clip, weight and stochastically round `update` (any finite floats) to fixed point.
 * `weight` in [0, maxWeight]. Randomness: one uniform uint32 per coordinate from
 * `random` (default the OS CSPRNG). Throws SecAggError('out_of_range') for a
 * non-finite coordinate (naming its index) or a weight out of range.
 */
export function encodeFixedPoint(
  update: ArrayLike<number>,
  weight: number,
  p: FixedPointParams,
  random: RandomSource = cryptoRandomSource,
): EncodedUpdate {
  checkFixedPointParams(p);
  if (!(Number.isFinite(weight) && weight >= 0 && weight <= p.maxWeight)) {
    throw new SecAggError('out_of_range', `fixed point: weight ${weight} is outside [0, maxWeight ${p.maxWeight}]`);
  }
  const scale = weight * 2 ** p.fractionalBits;
  const encoded = new Uint32Array(update.length);
  const u = new Uint32Array(Math.min(CHUNK, update.length));
  const uBytes = new Uint8Array(u.buffer);
  let clipped = 0;
  for (let start = 0; start < update.length; start += CHUNK) {
    const n = Math.min(CHUNK, update.length - start);
    random.fill(uBytes.subarray(0, n * 4));
    for (let k = 0; k < n; k++) {
      const j = start + k;
      let x = update[j]!;
      if (!Number.isFinite(x)) {
        throw new SecAggError('out_of_range', `fixed point: coordinate ${j} is ${x}, not a finite number`);
      }
      if (x > p.clip || x < -p.clip) {
        x = x > 0 ? p.clip : -p.clip;
        clipped++;
      }
      const y = x * scale;
      const fl = Math.floor(y);
      // u/2^32 < y − fl with probability y − fl: unbiased rounding.
      encoded[j] = fl + (u[k]! < (y - fl) * 4294967296 ? 1 : 0); // ToUint32: two's complement
    }
  }
  return { encoded, clipped };
}

/** Reads a (unmasked) sum of encoded vectors back: signed int32 / 2^f, as float64. */
export function decodeFixedPointSum(sum: Uint32Array, p: FixedPointParams): Float64Array {
  const signed = new Int32Array(sum.buffer, sum.byteOffset, sum.length);
  const out = new Float64Array(sum.length);
  const inv = 2 ** -p.fractionalBits;
  for (let j = 0; j < sum.length; j++) out[j] = signed[j]! * inv;
  return out;
}

/**
 * Exact integer coordinates (evaluation counts, histogram bins) for a secure sum: each
 * count must be an integer in [0, maxCount] and n · maxCount ≤ 2^32 − 1 so that the sum
 * is read back exactly as an unsigned integer.
 */
export function encodeCounts(counts: ArrayLike<number>, maxCount: number, maxBanks: number): Uint32Array {
  if (maxBanks * maxCount > 0xffffffff) {
    throw new SecAggError('out_of_range', `counts: ${maxBanks} banks × maxCount ${maxCount} exceeds 2^32 − 1`);
  }
  const out = new Uint32Array(counts.length);
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j]!;
    if (!Number.isInteger(c) || c < 0 || c > maxCount) {
      throw new SecAggError('out_of_range', `counts: entry ${j} is ${c}, not an integer in [0, ${maxCount}]`);
    }
    out[j] = c;
  }
  return out;
}
