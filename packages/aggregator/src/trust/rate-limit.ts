/**
 * Per-bank frame rate limit (token bucket). Every frame an authenticated bank sends is
 * work on the federation's one serial queue, and some cost an fsync'd audit write: 5,000
 * `decline` frames (2.6 MB, sent in 13 ms) stretched a 0.6 s round to 20.6 s and made an
 * honest bank's on-time update late (issue 12, A4). An honest bank sends a hello, one
 * update and one evaluation per round, and at most a heartbeat per interval: well under one
 * frame per second. The secure-aggregation workflow asks ten things per round, and a fast
 * round can ask them within a second: every frame the aggregator sends a bank therefore
 * grants it one credit (`credit`, at most `MAX_CREDITS` held), spent before the bucket, so an
 * answer the aggregator asked for is never dropped however fast the rounds go, while frames
 * nobody asked for still meet the bucket.
 *
 * Token bucket (e.g. Tanenbaum, "Computer Networks", §5.4; RFC 2697's committed burst):
 * a bucket of `burst` tokens refills at `framesPerSecond`; a frame takes one token or is
 * dropped. On excess the caller drops the frame without decoding it, sends ONE error
 * frame per episode of excess (`notify`), and disconnects the bank when the excess is
 * sustained (`disconnect`): `maxDroppedFrames` drops in one episode, or an episode lasting
 * `disconnectAfterMs`. An episode ends after `quietMs` without a drop.
 *
 * Pure: time comes from the injected clock; no timers.
 */

export interface FrameRateLimits {
  /** Sustained frames per second allowed per bank. Default 20. */
  framesPerSecond: number;
  /** Frames a bank may send at once after being quiet. Default 100. */
  burst: number;
  /** Dropped frames in one episode after which the bank is disconnected. Default 1,000. */
  maxDroppedFrames: number;
  /** An episode of drops lasting this long (ms) disconnects the bank. Default 10,000. */
  disconnectAfterMs: number;
  /** Milliseconds without a drop that end an episode. Default 1,000. */
  quietMs: number;
}

export const DEFAULT_FRAME_RATE_LIMITS: FrameRateLimits = {
  framesPerSecond: 20,
  burst: 100,
  maxDroppedFrames: 1000,
  disconnectAfterMs: 10_000,
  quietMs: 1000,
};

export type FrameVerdict =
  | { action: 'accept' }
  /** Drop the frame; `notify`: send the bank one error frame (first drop of an episode). */
  | { action: 'drop'; notify: boolean; dropped: number }
  /** Close the connection (and audit once); the bank's bucket is forgotten. */
  | { action: 'disconnect'; reason: string; dropped: number };

/** Answers a bank may have been asked for and not yet sent (credits held at most). */
export const MAX_CREDITS = 64;

interface Bucket {
  tokens: number;
  /** Frames the aggregator sent this bank: each lets one answer through ahead of the bucket. */
  credits: number;
  at: number;
  episode: { startedAt: number; lastDropAt: number; dropped: number } | null;
}

export class FrameRateLimiter {
  readonly limits: FrameRateLimits;
  private readonly buckets = new Map<string, Bucket>();

  /**
   * `limits`: any subset of FrameRateLimits (defaults above). Throws RangeError naming the
   * setting when a limit is not a positive finite number (burst ≥ 1).
   */
  constructor(
    private readonly clock: { now(): number },
    limits: Partial<FrameRateLimits> = {},
  ) {
    this.limits = { ...DEFAULT_FRAME_RATE_LIMITS, ...limits };
    for (const [k, v] of Object.entries(this.limits))
      if (!(Number.isFinite(v) && v > 0))
        throw new RangeError(`frame rate limit ${k} must be a positive number, got ${v}`);
    if (this.limits.burst < 1) throw new RangeError(`frame rate limit burst must be ≥ 1, got ${this.limits.burst}`);
  }

  /** Judges one frame from `bankId`, arriving now. Call before decoding or queueing it. */
  admit(bankId: string): FrameVerdict {
    const now = this.clock.now();
    const L = this.limits;
    let b = this.buckets.get(bankId);
    if (!b) {
      b = { tokens: L.burst, credits: 0, at: now, episode: null };
      this.buckets.set(bankId, b);
    }
    if (b.credits >= 1) {
      b.credits -= 1;
      return { action: 'accept' };
    }
    // A clock that steps back never adds tokens.
    b.tokens = Math.min(L.burst, b.tokens + (Math.max(0, now - b.at) * L.framesPerSecond) / 1000);
    b.at = Math.max(b.at, now);
    if (b.episode && now - b.episode.lastDropAt >= L.quietMs) b.episode = null;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { action: 'accept' };
    }
    const notify = b.episode === null;
    const e = (b.episode ??= { startedAt: now, lastDropAt: now, dropped: 0 });
    e.dropped++;
    e.lastDropAt = now;
    if (e.dropped >= L.maxDroppedFrames || now - e.startedAt >= L.disconnectAfterMs) {
      this.buckets.delete(bankId);
      return {
        action: 'disconnect',
        dropped: e.dropped,
        reason: `more than ${L.framesPerSecond} frames/s (burst ${L.burst}): ${e.dropped} frames dropped in ${now - e.startedAt} ms`,
      };
    }
    return { action: 'drop', notify, dropped: e.dropped };
  }

  /** The aggregator sent `bankId` a frame: one answer to it may pass ahead of the bucket. */
  credit(bankId: string): void {
    let b = this.buckets.get(bankId);
    if (!b) {
      b = { tokens: this.limits.burst, credits: 0, at: this.clock.now(), episode: null };
      this.buckets.set(bankId, b);
    }
    b.credits = Math.min(MAX_CREDITS, b.credits + 1);
  }

  /** Forgets a bank (its connection closed). */
  forget(bankId: string): void {
    this.buckets.delete(bankId);
  }

  /** Banks with a bucket (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }
}
