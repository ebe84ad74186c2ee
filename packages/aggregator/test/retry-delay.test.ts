/** The federation's wait before it tries a round again after a step threw (federation/retry.ts). */
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../src/federation/retry.js';

describe('retryDelayMs', () => {
  it('starts at the round interval (at least 1 s) and doubles per failure in a row, up to a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((f) => retryDelayMs(f, 200))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
    ]);
    expect(retryDelayMs(1, 5_000)).toBe(5_000);
    expect(retryDelayMs(2, 5_000)).toBe(10_000);
    expect(retryDelayMs(1_000, 5_000)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('never waits less than a round interval longer than the cap', () => {
    expect(retryDelayMs(1, 120_000)).toBe(120_000);
    expect(retryDelayMs(9, 120_000)).toBe(120_000);
  });
});
