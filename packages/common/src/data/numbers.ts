/**
 * Strict parsing of numbers that come from outside (CSV cells, environment variables,
 * config values). JavaScript's `Number()` is too lenient for data: it reads '' and '  '
 * as 0, '0x1f' as 31, 'Infinity' as Infinity and '1e39' as a float64 that becomes
 * Infinity once stored in a Float32Array (the model's storage). Here a number is plain
 * decimal notation (optional sign, digits, optional fraction, optional exponent,
 * surrounding blanks allowed) and must be finite once rounded to float32.
 */

/** Largest finite float32, (2 − 2⁻²³)·2¹²⁷ ≈ 3.4028235e38. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The smallest magnitude that rounds to ±Infinity in float32 (IEEE 754 round to nearest,
 * ties to even): 2¹²⁸ − 2¹⁰³, halfway between FLOAT32_MAX and 2¹²⁸.
 */
const FLOAT32_OVERFLOW = 3.4028235677973366e38;

const DECIMAL = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/** True for plain decimal notation: '-1.5', '.5', '2e-3', ' 7 '; false for '', '0x10', 'Infinity', 'NaN'. */
export function isDecimalNotation(s: string): boolean {
  return DECIMAL.test(s);
}

/** What is wrong with a value, or null when it is a finite float32 in decimal notation. */
export type NumberProblem = 'not a number' | 'not finite' | 'out of float32 range';

/**
 * Parses decimal notation into a number, or returns the problem. The fast path (one
 * `+s`, a few character tests) covers ordinary cells; the regex runs only for blanks,
 * letters and '0x…'-like prefixes, so loading stays as fast as `+s` alone.
 */
export function parseDecimal(s: string): number | NumberProblem {
  const x = +s;
  if (x !== x) return 'not a number';
  const c0 = s.charCodeAt(0);
  // Slow path: '' / '  ' (→ 0), '0x1f', '0b1', '0o7' (→ numbers), leading blanks,
  // '±Infinity', or an alphabetic start. Every other string `+s` accepts is decimal
  // (a sign or a digit other than a '0x'-like prefix can only start decimal notation).
  const slow =
    s.length === 0 ||
    x === Infinity ||
    x === -Infinity ||
    c0 <= 32 ||
    c0 >= 65 ||
    (c0 === 48 && (s.charCodeAt(1) | 32) >= 97);
  if (slow) {
    if (!DECIMAL.test(s)) return x === Infinity || x === -Infinity ? 'not finite' : 'not a number';
  }
  if (x >= FLOAT32_OVERFLOW || x <= -FLOAT32_OVERFLOW) return 'out of float32 range';
  return x;
}

/** A message for a bad value: `not a number: "abc"`, `out of float32 range (|x| ≤ 3.4028235e38): "1e39"`. */
export function describeNumberProblem(problem: NumberProblem, raw: string): string {
  const shown = raw.trim() === '' ? 'an empty value' : `"${raw.length > 40 ? raw.slice(0, 40) + '...' : raw}"`;
  if (problem === 'out of float32 range') return `out of range: ${shown} is beyond the float32 range (|x| ≤ 3.4028235e38)`;
  if (problem === 'not finite') return `not a finite number: ${shown}`;
  return `not a number: ${shown}`;
}

/**
 * Checks a number that arrived already parsed (e.g. from JSON, where 1e400 becomes
 * Infinity): null when it is a finite float32, else the problem.
 */
export function checkFloat32(x: number): NumberProblem | null {
  if (x !== x) return 'not a number';
  if (x >= FLOAT32_OVERFLOW || x <= -FLOAT32_OVERFLOW) return x === Infinity || x === -Infinity ? 'not finite' : 'out of float32 range';
  return null;
}
