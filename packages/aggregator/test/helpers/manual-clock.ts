/**
 * A Clock (federation/clock.ts) that moves only when the test says: `advance(ms)` runs every timer
 * due up to the new time, in order of due time (then of creation), including timers the callbacks
 * set on the way. Lets a test drive heartbeat sweeps and timeouts without waiting on a loaded machine.
 */
import type { Clock } from '../../src/federation/clock.js';

const MAX_CALLBACKS = 100_000;

interface Timer {
  id: number;
  due: number;
  fn: () => void;
  /** Period of an interval; null for a one-shot timeout. */
  every: number | null;
}

export class ManualClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.add(fn, ms, null);
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): unknown {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers waiting to run (intervals included). */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms` (≥ 0), running each timer as its due time is reached. Time ends at
   * the new value even when a callback throws (its error is rethrown; later timers wait for the
   * next advance). More than MAX_CALLBACKS callbacks in one advance (a timer re-arming itself at
   * 0 ms) throw rather than loop forever.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ${ms} ms; expected a number ≥ 0`);
    const end = this.t + ms;
    try {
      for (let run = 0; ; run++) {
        let next: Timer | null = null;
        for (const timer of this.timers.values())
          if (timer.due <= end && (!next || timer.due < next.due || (timer.due === next.due && timer.id < next.id)))
            next = timer;
        if (!next) break;
        if (run >= MAX_CALLBACKS)
          throw new Error(`ManualClock.advance: over ${MAX_CALLBACKS} timer callbacks in ${ms} ms`);
        this.t = Math.max(this.t, next.due);
        if (next.every === null) this.timers.delete(next.id);
        else next.due += next.every;
        next.fn();
      }
    } finally {
      this.t = end;
    }
  }

  private add(fn: () => void, ms: number, every: number | null): number {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.t + Math.max(0, ms), fn, every });
    return id;
  }
}
