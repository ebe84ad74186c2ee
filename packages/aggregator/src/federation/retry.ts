/**
 * How long the federation waits before it tries a round again after a step threw (a store error
 * such as a full disk, an encoding error, a bug; Federation.recover).
 */

/** The longest wait between attempts, ms, unless the round interval itself is longer. */
export const MAX_RETRY_DELAY_MS = 60_000;

/**
 * The wait before the next attempt, ms, after `failures` (≥ 1) steps in a row threw: the round
 * interval (at least 1 s) after the first, doubled after each further one, at most
 * MAX_RETRY_DELAY_MS (or the interval, if that is longer). Why: retrying every second against a
 * full disk wrote an error a second to the log and started a round, with a new round id, each
 * time; a few waits that double still try again within a minute of the cause being fixed.
 */
export function retryDelayMs(failures: number, roundIntervalMs: number): number {
  const base = Math.max(1_000, roundIntervalMs);
  const cap = Math.max(MAX_RETRY_DELAY_MS, base);
  const doublings = Math.min(Math.max(0, Math.floor(failures) - 1), 30);
  return Math.min(cap, base * 2 ** doublings);
}
