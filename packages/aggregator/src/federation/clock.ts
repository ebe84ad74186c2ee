/** Time and timers are injected so that tests can drive rounds without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** How late (ms) a timer may fire before what the sockets hold is read first (afterReads). */
export const TIMER_LATE_MS = 100;

/**
 * Wraps the callback of a timer due at `dueAt` (ms, `clock`'s time). A timer that fires more than
 * TIMER_LATE_MS late means the event loop was held (a long synchronous step, a starved process),
 * and Node runs due timers before it reads the sockets: what the peers sent in time is still
 * unread. `fn` then runs after this turn's reads (setImmediate), so that it is taken first;
 * `onLate` runs at once in that case (to mark the frames read meanwhile, say). On time, `fn` runs
 * at once. A ManualClock fires on time, so tests that drive time see no difference.
 */
export function afterReads(clock: Clock, dueAt: number, fn: () => void, onLate?: () => void): () => void {
  return () => {
    if (clock.now() - dueAt <= TIMER_LATE_MS) return fn();
    onLate?.();
    setImmediate(fn);
  };
}

/** Where a deadline timer marks a hold (Core, the job runner): the deadline the frames read meanwhile count as arriving at. */
export interface HoldMark {
  heldSince: number | null;
}

/**
 * Arms a timer for a stage's deadline `at` (ms, `clock`'s time): `tick` runs just after it. Fired
 * late (the event loop held past the deadline), it sets `mark.heldSince` to `at` until the
 * sockets were read (afterReads), so that the frames that came during the hold, maybe before the
 * deadline, are judged as arriving at it; then it clears the mark and ticks. Returns the handle.
 */
export function armDeadline(clock: Clock, at: number, mark: HoldMark, tick: () => void): unknown {
  const delay = Math.max(0, at - clock.now()) + 1;
  const run = () => {
    mark.heldSince = null;
    tick();
  };
  return clock.setTimeout(
    afterReads(clock, clock.now() + delay, run, () => void (mark.heldSince ??= at)),
    delay,
  );
}
