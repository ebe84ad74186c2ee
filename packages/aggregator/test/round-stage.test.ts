import { describe, expect, it } from 'vitest';
import { Stage } from '../src/round/stage.js';

const policy = (over: Partial<{ quorum: number; graceMs: number | null; deadline: number }> = {}) => ({
  quorum: 2,
  graceMs: 1_000 as number | null,
  deadline: 10_000,
  ...over,
});

describe('Stage (generic: ask, collect, close)', () => {
  it('closes when every asked bank answered, and succeeds with the quorum', () => {
    const s = new Stage('fit', ['a', 'b'], policy(), 0);
    expect(s.judge('a', 10)).toEqual({ accepted: true });
    s.answer('a', 10);
    expect(s.isOpen).toBe(true);
    s.answer('b', 20);
    expect(s.closedBy).toBe('all_answered');
    expect(s.succeeded).toBe(true);
    expect(s.answered).toEqual(['a', 'b']);
  });

  it('waits the grace period after the quorum, then closes; late answers are refused', () => {
    const s = new Stage('fit', ['a', 'b', 'c'], policy(), 0);
    s.answer('a', 100);
    s.answer('b', 200);
    expect(s.quorumAt).toBe(200);
    expect(s.closesAt()).toBe(1_200);
    s.tick(1_199);
    expect(s.isOpen).toBe(true);
    expect(s.judge('c', 1_201)).toMatchObject({ accepted: false, reason: 'late: the fit stage closed' });
    s.tick(1_200);
    expect(s.closedBy).toBe('grace_elapsed');
    expect(s.succeeded).toBe(true);
  });

  it('fails at once when drops make the quorum unreachable, keeping each reason', () => {
    const s = new Stage('share keys', ['a', 'b', 'c'], policy({ quorum: 3 }), 0);
    s.answer('a', 1);
    s.drop('b', 'disconnected', 2);
    expect(s.closedBy).toBe('quorum_unreachable');
    expect(s.succeeded).toBe(false);
    expect(s.dropReason('b')).toBe('disconnected');
    expect(s.pendingCount).toBe(1);
  });

  it('judges: not asked, duplicate, closed', () => {
    const s = new Stage('evaluate', ['a', 'b'], policy({ quorum: 0, graceMs: null }), 0);
    expect(s.judge('z', 1)).toMatchObject({ accepted: false, reason: expect.stringContaining('not asked') });
    s.answer('a', 1);
    expect(s.judge('a', 2)).toMatchObject({ accepted: false, reason: expect.stringContaining('duplicate') });
    // Quorum 0 and no grace: it waits for everyone until the deadline.
    expect(s.closesAt()).toBe(10_000);
    s.tick(10_000);
    expect(s.closedBy).toBe('deadline');
    expect(s.succeeded).toBe(true);
    expect(() => s.answer('b', 10_001)).toThrow(/closed/);
  });
});
