/**
 * A Stage's promised answers (the fit upload's offers, issue 14): a bank judged in time by its
 * offer may answer after the nominal close, and the stage waits for every promise (answer or
 * drop) before it closes; late promises are refused like late answers.
 */
import { describe, expect, it } from 'vitest';
import { Stage } from '../src/round/stage.js';

const policy = { quorum: 2, graceMs: 0, deadline: 1_000 };

describe('Stage promises', () => {
  it('stays open past the deadline for promised answers, then closes at the last one', () => {
    const s = new Stage('fit', ['a', 'b', 'c'], policy, 0);
    expect(s.promise('a', 900)).toEqual({ accepted: true });
    expect(s.promise('b', 950)).toEqual({ accepted: true });
    expect(s.wakeAt()).toBeNull(); // nothing to wake for: the promises settle it
    s.tick(5_000);
    expect(s.isOpen).toBe(true);
    // A promise asked for after the close is late, judged by its own arrival.
    expect(s.promise('c', 1_001)).toEqual({ accepted: false, reason: 'late: the fit stage closed' });
    // The promised banks may answer after the deadline.
    expect(s.judge('a', 6_000)).toEqual({ accepted: true });
    s.answer('a', 6_000);
    expect(s.isOpen).toBe(true);
    s.answer('b', 7_000);
    expect(s.isOpen).toBe(false);
    expect(s.succeeded).toBe(true);
    expect(s.closedTime).toBe(7_000);
    expect(s.promisedCount).toBe(0);
  });

  it('closes when the promised banks drop after the deadline, one of them dropped before it promised', () => {
    const s = new Stage('fit', ['a', 'b', 'c'], { ...policy, quorum: 1, graceMs: null }, 0);
    s.answer('c', 10);
    s.drop('a', 'declined', 20);
    expect(s.promise('a', 30).accepted).toBe(true); // offered after all
    expect(s.promise('b', 40).accepted).toBe(true);
    s.tick(2_000);
    expect(s.isOpen).toBe(true);
    s.drop('b', 'no update within the upload grant timeout', 2_100);
    expect(s.isOpen).toBe(true); // a's promise still stands
    s.drop('a', 'no update within the upload grant timeout', 2_200);
    expect(s.isOpen).toBe(false);
    expect(s.dropReason('a')).toBe('no update within the upload grant timeout');
    expect(s.dropReason('b')).toBe('no update within the upload grant timeout');
    expect(s.answered).toEqual(['c']);
  });

  it('before the deadline, resolving the promises leaves the normal wake-up time', () => {
    const s = new Stage('fit', ['a', 'b', 'c'], { ...policy, quorum: 3 }, 0);
    s.promise('a', 10);
    expect(s.wakeAt()).toBeNull();
    s.answer('a', 20);
    expect(s.wakeAt()).toBe(1_000);
    expect(s.isOpen).toBe(true);
  });
});
