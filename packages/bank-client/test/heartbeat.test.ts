/**
 * When the bank daemon beats (src/heartbeat.ts): in intervals it sent nothing else, when the
 * aggregator's timeout allows a skipped beat; every interval otherwise.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatPolicy, standsInForBeat, startHeartbeat } from '../src/heartbeat.js';

const I = 5_000;
const DEFAULT_TIMEOUT = 20_000;

describe('HeartbeatPolicy', () => {
  it('beats every interval while the bank sends nothing else', () => {
    const p = new HeartbeatPolicy(I, DEFAULT_TIMEOUT);
    expect([1, 2, 3].map((k) => p.tick(k * I, k * I))).toEqual(['beat', 'beat', 'beat']);
  });

  it('skips the tick after any other frame, and beats again at the next', () => {
    const p = new HeartbeatPolicy(I, DEFAULT_TIMEOUT);
    p.sent(); // an update, say
    expect(p.tick(I, I)).toBe('skip');
    expect(p.tick(2 * I, 2 * I)).toBe('beat');
    p.sent();
    p.sent();
    expect(p.tick(3 * I, 3 * I)).toBe('skip');
    expect(p.tick(4 * I, 4 * I)).toBe('beat');
  });

  it('never skips when the aggregator waits less than four intervals, or did not say (older aggregators)', () => {
    for (const timeout of [undefined, 2 * I, 4 * I - 1]) {
      const p = new HeartbeatPolicy(I, timeout);
      expect(p.maySkip).toBe(false);
      p.sent();
      expect(p.tick(I, I), `timeout ${timeout}`).toBe('beat');
    }
    expect(new HeartbeatPolicy(I, 4 * I).maySkip).toBe(true);
  });

  it('leaves at most two intervals between frames: half the four the aggregator waits at least', () => {
    // A frame every third interval, sent just after a tick: the next tick skips, the one after beats.
    const p = new HeartbeatPolicy(I, 4 * I);
    const sentAt: number[] = [];
    for (let k = 1; k <= 40; k++) {
      if (k % 3 === 0) {
        p.sent();
        sentAt.push(k * I + 1);
      }
      if (p.tick((k + 1) * I, (k + 1) * I) === 'beat') sentAt.push((k + 1) * I);
    }
    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * I);
    expect(Math.max(...gaps)).toBeGreaterThan(I); // some beats were skipped
  });

  it('gives up after four intervals and 2 s without word from the aggregator, even with frames to send', () => {
    const p = new HeartbeatPolicy(I, DEFAULT_TIMEOUT);
    expect(p.tick(4 * I + 2_000, 0)).toBe('beat');
    p.sent();
    expect(p.tick(4 * I + 2_001, 0)).toBe('give-up');
  });

  it('does not give up at a tick that ran late (the loop was held, the socket unread); the next tick judges', () => {
    // Held nine intervals: the aggregator's frames of the meantime are read after this tick.
    const heard = new HeartbeatPolicy(I, DEFAULT_TIMEOUT);
    expect(heard.tick(I, I)).toBe('beat');
    expect(heard.tick(10 * I, I)).toBe('beat');
    expect(heard.tick(11 * I, 10 * I + 1)).toBe('beat');
    // Nothing came: the next tick gives up, and so does one late again (postponed once at most).
    for (const next of [11 * I, 30 * I]) {
      const silent = new HeartbeatPolicy(I, DEFAULT_TIMEOUT);
      silent.tick(I, I);
      expect(silent.tick(10 * I, I)).toBe('beat');
      expect(silent.tick(next, I), `next tick at ${next}`).toBe('give-up');
    }
    // The first tick too, against when the ticks started (training may hold the loop at once).
    const first = new HeartbeatPolicy(I, DEFAULT_TIMEOUT, 0);
    expect(first.tick(30_000, 0)).toBe('beat');
    expect(first.tick(35_000, 0)).toBe('give-up');
  });
});

describe("startHeartbeat (the daemon's timer, on fake timers)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats, skips after a frame, gives up on a silent aggregator and stops its timer', () => {
    vi.useFakeTimers({ now: 0 });
    let heard = 0;
    const calls: string[] = [];
    const hb = startHeartbeat(I, DEFAULT_TIMEOUT, {
      lastFromServer: () => heard,
      beat: () => calls.push(`beat ${Date.now()}`),
      giveUp: () => calls.push(`give-up ${Date.now()}`),
    });
    heard = I;
    vi.advanceTimersByTime(I); // idle: beats
    hb.sent();
    vi.advanceTimersByTime(I); // an update went out: skipped
    vi.advanceTimersByTime(I); // idle again: beats
    expect(calls).toEqual([`beat ${I}`, `beat ${3 * I}`]);
    // The aggregator falls silent after `heard`: the first tick past 4 intervals + 2 s gives up, once.
    vi.advanceTimersByTime(10 * I);
    expect(calls.filter((c) => c.startsWith('give-up'))).toEqual([`give-up ${6 * I}`]);
    expect(vi.getTimerCount()).toBe(0);
    hb.stop();
  });

  it('stops beating when stopped (the connection closed)', () => {
    vi.useFakeTimers({ now: 0 });
    const calls: number[] = [];
    const hb = startHeartbeat(I, undefined, {
      lastFromServer: () => Date.now(),
      beat: () => calls.push(1),
      giveUp: () => {},
    });
    vi.advanceTimersByTime(2 * I);
    hb.stop();
    vi.advanceTimersByTime(5 * I);
    expect(calls).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('standsInForBeat', () => {
  it("is true for the rounds' messages, false for the heartbeat and for analytics answers", () => {
    for (const t of ['hello', 'update_offer', 'update', 'evaluation', 'decline', 'secagg_masked_update'])
      expect(standsInForBeat(t), t).toBe(true);
    for (const t of ['heartbeat', 'analytics_answer', 'analytics_decline']) expect(standsInForBeat(t), t).toBe(false);
  });
});
