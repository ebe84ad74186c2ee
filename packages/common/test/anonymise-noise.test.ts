/** Laplace noise on amounts: its scale, clipping, and the keyed noise that repeats across exports. */
import { describe, expect, it } from 'vitest';
import { hmacRng, keyedNoisyAmount, laplace, noisyAmount } from '@finsecure/common/anonymise';
import { createRng } from '@finsecure/common/rng';

const KEY = Buffer.alloc(32, 7);
const KEY2 = Buffer.alloc(32, 8);

/** Sums of |x|, x² and x over `n` draws, for the empirical moments of a noise. */
function moments(n: number, draw: (i: number) => number): { abs: number; sq: number; sum: number } {
  let abs = 0;
  let sq = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = draw(i);
    abs += Math.abs(x);
    sq += x * x;
    sum += x;
  }
  return { abs, sq, sum };
}

describe('Laplace noise on amounts', () => {
  it('has the stated scale b = C/ε (empirical, seeded): E|X| = b, Var X = 2b²', () => {
    const rng = createRng(42);
    const b = 1000 / 0.5;
    const n = 200_000;
    const { abs, sq, sum } = moments(n, () => laplace(b, rng));
    expect(abs / n / b).toBeGreaterThan(0.99);
    expect(abs / n / b).toBeLessThan(1.01);
    expect(sq / n / (2 * b * b)).toBeGreaterThan(0.97);
    expect(sq / n / (2 * b * b)).toBeLessThan(1.03);
    expect(Math.abs(sum / n)).toBeLessThan(0.02 * b);
  });

  it('clips to [0, C] before adding noise and rounds to cents', () => {
    const p = { epsilon: 1e9, clip: 100 }; // tiny noise: the clipped value shows
    expect(noisyAmount(250, p, createRng(1))).toEqual({ value: 100, clipped: true });
    expect(noisyAmount(-5, p, createRng(1))).toEqual({ value: 0, clipped: true });
    const r = noisyAmount(57.16, { epsilon: 1, clip: 100 }, createRng(1));
    expect(r.clipped).toBe(false);
    expect(Math.round(r.value * 100) / 100).toBe(r.value);
    expect(r.value).not.toBe(57.16);
  });
});

describe('keyed Laplace noise (repeats across exports)', () => {
  const p = { epsilon: 0.5, clip: 1000 };
  const t = { column: 'amount', transaction: 'id:T1' };

  it('is the same for the same key, parameters, transaction and amount, and differs when any of them changes', () => {
    const a = keyedNoisyAmount(57.16, p, KEY, t);
    expect(keyedNoisyAmount(57.16, p, KEY, t)).toEqual(a);
    expect(Math.round(a.value * 100) / 100).toBe(a.value);
    const others = [
      keyedNoisyAmount(57.16, p, KEY2, t),
      keyedNoisyAmount(57.16, p, KEY, { ...t, transaction: 'id:T2' }),
      keyedNoisyAmount(57.16, p, KEY, { ...t, column: 'fee' }),
      keyedNoisyAmount(57.17, p, KEY, t),
      // another ε or clip: fresh noise (the same uniform under two scales would give the amount away)
      keyedNoisyAmount(57.16, { ...p, epsilon: 1 }, KEY, t),
      keyedNoisyAmount(57.16, { ...p, clip: 500 }, KEY, t),
    ].map((r) => r.value - 57.16);
    const noise = a.value - 57.16;
    for (const o of others) expect(o).not.toBeCloseTo(noise, 2);
    // two scales, one uniform: (b2·v1 − b1·v2)/(b2 − b1) would be the amount; here it is not
    const v2 = keyedNoisyAmount(57.16, { ...p, epsilon: 1 }, KEY, t).value;
    expect(Math.abs((2000 * v2 - 1000 * a.value) / (2000 - 1000) - 57.16)).toBeGreaterThan(1);
  });

  it('averaging repeated releases of a transaction does not remove it: they are all the same value', () => {
    const one = keyedNoisyAmount(120, p, KEY, t).value;
    let sum = 0;
    for (let i = 0; i < 500; i++) sum += keyedNoisyAmount(120, p, KEY, t).value;
    expect(sum / 500).toBeCloseTo(one, 6);
  });

  it('hmacRng is a deterministic uniform stream, separated by its parts', () => {
    const a = hmacRng(KEY, ['x', 'y']);
    const b = hmacRng(KEY, ['x', 'y']);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(hmacRng(KEY, ['xy']).next()).not.toBe(xs[0]); // length-prefixed: ['x','y'] ≠ ['xy']
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
  });

  it('has the stated scale b = C/ε over many transactions: E|X| = b, Var X = 2b², mean 0', () => {
    const b = p.clip / p.epsilon;
    const n = 100_000;
    const { abs, sq, sum } = moments(
      n,
      (i) => keyedNoisyAmount(500, p, KEY, { column: 'amount', transaction: `id:T${i}` }).value - 500,
    );
    expect(abs / n / b).toBeGreaterThan(0.98);
    expect(abs / n / b).toBeLessThan(1.02);
    expect(sq / n / (2 * b * b)).toBeGreaterThan(0.95);
    expect(sq / n / (2 * b * b)).toBeLessThan(1.05);
    expect(Math.abs(sum / n)).toBeLessThan(0.03 * b);
  });
});
