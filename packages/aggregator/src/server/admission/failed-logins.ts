/**
 * Failed bank logins per address, the socket's counterpart of the REST sign-in limiter.
 *
 * REST sign-in uses @fastify/rate-limit with a fixed window (server/plugins/sessions.ts:
 * `max` requests per `timeWindow` per IP, answering 429 with the time to wait). The bank
 * socket applies the same policy to failures: once `maxFailures` failed hellos (bad
 * credentials, undecodable hellos, hello timeouts) from one address fall in the window that
 * began at the first of them, every new socket from that address is refused at once, without
 * reading a hello, until the window ends. A bank that authenticates is not counted.
 *
 * Pure: the caller passes `now` (ms). Memory is bounded by `maxAddresses`: expired windows
 * are dropped first, then the oldest windows.
 */

export interface FailedLoginPolicy {
  maxFailures: number;
  windowMs: number;
  /** Most addresses tracked at once (default 10,000). */
  maxAddresses?: number;
}

export type LoginCheck = { ok: true } | { ok: false; retryInMs: number; failures: number };

interface Window {
  start: number;
  failures: number;
}

export class FailedLogins {
  private readonly windows = new Map<string, Window>();
  private readonly maxAddresses: number;

  constructor(private readonly policy: FailedLoginPolicy) {
    this.maxAddresses = policy.maxAddresses ?? 10_000;
  }

  /** Whether `address` may try to log in at `now`; if not, how long until it may (ms, > 0). */
  check(address: string, now: number): LoginCheck {
    const w = this.live(address, now);
    if (!w || w.failures < this.policy.maxFailures) return { ok: true };
    return { ok: false, retryInMs: w.start + this.policy.windowMs - now, failures: w.failures };
  }

  /** Records a failure of `address` at `now`; returns the failures counted in its window. */
  fail(address: string, now: number): number {
    let w = this.live(address, now);
    if (!w) {
      if (this.windows.size >= this.maxAddresses) this.makeRoom(now);
      w = { start: now, failures: 0 };
      this.windows.set(address, w);
    }
    w.failures++;
    return w.failures;
  }

  /** Addresses tracked (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  private live(address: string, now: number): Window | null {
    const w = this.windows.get(address);
    if (!w) return null;
    if (now >= w.start + this.policy.windowMs || now < w.start) {
      // Over, or the clock went back: start afresh rather than block forever.
      this.windows.delete(address);
      return null;
    }
    return w;
  }

  private makeRoom(now: number): void {
    for (const [a, w] of this.windows) if (now >= w.start + this.policy.windowMs) this.windows.delete(a);
    // Still full: drop the oldest windows (Map order = insertion order = start order).
    for (const a of this.windows.keys()) {
      if (this.windows.size < this.maxAddresses) break;
      this.windows.delete(a);
    }
  }
}
