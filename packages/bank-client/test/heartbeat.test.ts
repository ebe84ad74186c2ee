/**
 * When the bank daemon beats (src/heartbeat.ts): in intervals it sent nothing else, when the
 * aggregator's timeout allows a skipped beat; every interval otherwise.
 */
import { describe, expect, it } from 'vitest';
import { HeartbeatPolicy } from '../src/heartbeat.js';

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

  it('never skips when the aggregator waits less than three intervals, or did not say (older aggregators)', () => {
    for (const timeout of [undefined, 2 * I, 3 * I - 1]) {
      const p = new HeartbeatPolicy(I, timeout);
      expect(p.maySkip).toBe(false);
      p.sent();
      expect(p.tick(I, I), `timeout ${timeout}`).toBe('beat');
    }
    expect(new HeartbeatPolicy(I, 3 * I).maySkip).toBe(true);
  });

  it('leaves at most two intervals between frames: less than the three the aggregator waits at least', () => {
    // A frame every third interval, sent just after a tick: the next tick skips, the one after beats.
    const p = new HeartbeatPolicy(I, 3 * I);
    const sentAt: number[] = [];
    for (let k = 1; k <= 40; k++) {
      if (k % 3 === 0) {
        p.sent();
        sentAt.push(k * I + 1);
      }
      if (p.tick((k + 1) * I, (k + 1) * I) === 'beat') sentAt.push((k + 1) * I);
    }
    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
    expect(Math.max(...gaps)).toBeLessThan(3 * I);
    expect(Math.max(...gaps)).toBeGreaterThan(I); // some beats were skipped
  });

  it('gives up after four intervals and 2 s without word from the aggregator, even with frames to send', () => {
    const p = new HeartbeatPolicy(I, DEFAULT_TIMEOUT);
    expect(p.tick(4 * I + 2_000, 0)).toBe('beat');
    p.sent();
    expect(p.tick(4 * I + 2_001, 0)).toBe('give-up');
  });
});
