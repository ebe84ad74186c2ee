/** When the bank daemon beats (src/heartbeat.ts): only in intervals it sent nothing else. */
import { describe, expect, it } from 'vitest';
import { HeartbeatPolicy } from '../src/heartbeat.js';

const I = 5_000;

describe('HeartbeatPolicy', () => {
  it('beats every interval while the bank sends nothing else', () => {
    const p = new HeartbeatPolicy(I);
    expect([1, 2, 3].map((k) => p.tick(k * I, k * I))).toEqual(['beat', 'beat', 'beat']);
  });

  it('skips the tick after any other frame, and beats again at the next', () => {
    const p = new HeartbeatPolicy(I);
    p.sent(); // an update, say
    expect(p.tick(I, I)).toBe('skip');
    expect(p.tick(2 * I, 2 * I)).toBe('beat');
    p.sent();
    p.sent();
    expect(p.tick(3 * I, 3 * I)).toBe('skip');
    expect(p.tick(4 * I, 4 * I)).toBe('beat');
  });

  it('leaves at most two intervals between frames, well inside the default 20 s timeout', () => {
    // Frames sent right after a tick: the next tick skips, the one after beats.
    const p = new HeartbeatPolicy(I);
    const sentAt: number[] = [];
    for (let k = 1; k <= 40; k++) {
      const now = k * I;
      if (k % 3 === 0) {
        p.sent();
        sentAt.push(now + 1);
      }
      if (p.tick((k + 1) * I, (k + 1) * I) === 'beat') sentAt.push((k + 1) * I);
    }
    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * I);
  });

  it('gives up after four intervals and 2 s without word from the aggregator, even with frames to send', () => {
    const p = new HeartbeatPolicy(I);
    expect(p.tick(4 * I + 2_000, 0)).toBe('beat');
    p.sent();
    expect(p.tick(4 * I + 2_001, 0)).toBe('give-up');
  });
});
