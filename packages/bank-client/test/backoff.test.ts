/**
 * The delays between the bank daemon's connection attempts (src/connection.ts Backoff):
 * exponential from the minimum, capped, with "equal jitter" (half fixed, half random).
 */
import { describe, expect, it } from 'vitest';
import type { Rng } from '@finsecure/common/rng';
import { Backoff } from '../src/connection.js';

/** An Rng whose next() always returns `u`: the delays' two ends. */
const fixed = (u: number): Rng => ({ next: () => u }) as unknown as Rng;

describe('Backoff', () => {
  it('doubles from the minimum up to the cap, each delay between half and all of its base', () => {
    const low = new Backoff(500, 4_000, fixed(0));
    const high = new Backoff(500, 4_000, fixed(0.999_999));
    const lows = Array.from({ length: 6 }, () => low.next());
    const highs = Array.from({ length: 6 }, () => high.next());
    expect(lows).toEqual([250, 500, 1_000, 2_000, 2_000, 2_000]);
    expect(highs).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect(low.attempts).toBe(6);
  });

  it('starts again from the minimum after a welcome', () => {
    const b = new Backoff(100, 10_000, fixed(0));
    for (let i = 0; i < 5; i++) b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(50);
  });

  it('backs off at least as hard as after N failures when another daemon took the place, never less', () => {
    const b = new Backoff(100, 1_000_000, fixed(0));
    b.atLeast(6);
    expect(b.next()).toBe(3_200); // 100 · 2^6 / 2
    b.atLeast(2); // already past it: unchanged
    expect(b.next()).toBe(6_400);
  });
});
