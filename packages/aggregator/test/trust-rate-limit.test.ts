import { describe, expect, it } from 'vitest';
import { FrameRateLimiter, MAX_CREDITS, type FrameVerdict } from '../src/trust/index.js';

function manualClock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('FrameRateLimiter (token bucket per bank)', () => {
  it('the issue example: 5,000 decline frames in 13 ms — 100 pass, one error frame, then a disconnect', () => {
    const clock = manualClock();
    const limiter = new FrameRateLimiter(clock);
    const verdicts: FrameVerdict[] = [];
    for (let i = 0; i < 5000; i++) {
      clock.t = 1_000_000 + Math.floor((i * 13) / 5000);
      const v = limiter.admit('mallory');
      verdicts.push(v);
      if (v.action === 'disconnect') break;
    }
    const accepted = verdicts.filter((v) => v.action === 'accept').length;
    expect(accepted).toBe(100); // the burst (13 ms refill 0.26 of a token)
    expect(verdicts.filter((v) => v.action === 'drop' && v.notify)).toHaveLength(1);
    const last = verdicts.at(-1)!;
    expect(last).toEqual({
      action: 'disconnect',
      dropped: 1000,
      reason: expect.stringMatching(/^more than 20 frames\/s \(burst 100\): 1000 frames dropped in \d+ ms$/),
    });
    expect(verdicts.length).toBe(1100); // only 1,100 of the 5,000 frames were even looked at
    expect(limiter.size).toBe(0); // the bucket was forgotten with the connection
  });

  it('an honest bank (heartbeat, update, evaluation per round) is never limited; banks do not share buckets', () => {
    const clock = manualClock();
    const limiter = new FrameRateLimiter(clock);
    for (let s = 0; s < 3600; s++) {
      clock.t += 1000;
      for (const bank of ['a', 'b']) expect(limiter.admit(bank).action).toBe('accept');
      if (s % 10 === 0) expect(limiter.admit('a').action).toBe('accept');
    }
  });

  it('refills at framesPerSecond; a new episode of excess notifies again after a quiet second', () => {
    const clock = manualClock();
    const limiter = new FrameRateLimiter(clock, { framesPerSecond: 10, burst: 2 });
    expect(limiter.admit('x').action).toBe('accept');
    expect(limiter.admit('x').action).toBe('accept');
    expect(limiter.admit('x')).toEqual({ action: 'drop', notify: true, dropped: 1 });
    expect(limiter.admit('x')).toEqual({ action: 'drop', notify: false, dropped: 2 });
    clock.t += 100; // one token back
    expect(limiter.admit('x').action).toBe('accept');
    expect(limiter.admit('x')).toMatchObject({ action: 'drop', notify: false });
    clock.t += 1000; // quiet: the episode ends, the bucket is full again
    expect(limiter.admit('x').action).toBe('accept');
    expect(limiter.admit('x').action).toBe('accept');
    expect(limiter.admit('x')).toEqual({ action: 'drop', notify: true, dropped: 1 });
  });

  it('lets every answer the aggregator asked for through, however fast; unasked frames still meet the bucket', () => {
    // The secure workflow asks ten things per round and a fast round asks them within a second.
    const clock = manualClock();
    const limiter = new FrameRateLimiter(clock, { framesPerSecond: 1, burst: 1 });
    expect(limiter.admit('x').action).toBe('accept'); // the bucket's one token
    for (let i = 0; i < 30; i++) {
      limiter.credit('x'); // the aggregator sends x a request ...
      expect(limiter.admit('x').action).toBe('accept'); // ... and its answer passes, the bucket still empty
    }
    expect(limiter.admit('x')).toEqual({ action: 'drop', notify: true, dropped: 1 });
    // Credits are capped: frames sent without answers (commits, heartbeats) buy at most MAX_CREDITS.
    for (let i = 0; i < 1000; i++) limiter.credit('y');
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (limiter.admit('y').action === 'accept') accepted++;
    expect(accepted).toBe(MAX_CREDITS + 1);
  });

  it('sustained excess below the drop count disconnects after disconnectAfterMs', () => {
    const clock = manualClock();
    const limiter = new FrameRateLimiter(clock, { framesPerSecond: 1, burst: 1, disconnectAfterMs: 5000 });
    let v: FrameVerdict = limiter.admit('slow');
    for (let i = 0; i < 100 && v.action !== 'disconnect'; i++) {
      clock.t += 100; // 10 frames/s against a limit of 1
      v = limiter.admit('slow');
    }
    expect(v).toMatchObject({ action: 'disconnect' });
    expect(clock.t - 1_000_000).toBeGreaterThanOrEqual(5000);
    expect(clock.t - 1_000_000).toBeLessThan(5300);
  });

  it('a clock stepping back adds no tokens; bad settings are refused by name', () => {
    const clock = manualClock();
    const limiter = new FrameRateLimiter(clock, { burst: 1 });
    expect(limiter.admit('x').action).toBe('accept');
    clock.t -= 60_000;
    expect(limiter.admit('x').action).toBe('drop');
    expect(() => new FrameRateLimiter(clock, { framesPerSecond: 0 })).toThrow(
      /framesPerSecond must be a positive number/,
    );
    expect(() => new FrameRateLimiter(clock, { burst: 0.5 })).toThrow(/burst must be ≥ 1/);
  });
});
