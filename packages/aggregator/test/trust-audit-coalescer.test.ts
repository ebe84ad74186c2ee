import { describe, expect, it } from 'vitest';
import { AuditCoalescer, type CoalescedEntry } from '../src/trust/index.js';
import { ManualClock } from './helpers/manual-clock.js';

function setup(windowMs = 10_000, maxKeys?: number) {
  const clock = new ManualClock(0);
  const written: CoalescedEntry[] = [];
  const c = new AuditCoalescer({ clock, windowMs, ...(maxKeys ? { maxKeys } : {}), flush: (e) => written.push(e) });
  return { clock, written, c };
}

describe('AuditCoalescer', () => {
  it('the issue example: 5,000 identical declines become two audit entries (the first, then one with count 4,999)', () => {
    const { clock, written, c } = setup();
    for (let i = 0; i < 5000; i++) {
      c.record({
        type: 'round.declined',
        actor: 'mallory',
        reason: 'declined: spam',
        key: 'round 7',
        details: { roundId: 7 },
      });
      if (i % 385 === 0) clock.advance(1);
    }
    expect(written).toEqual([
      {
        type: 'round.declined',
        actor: 'mallory',
        details: { roundId: 7, reason: 'declined: spam' },
        count: 1,
        summary: false,
      },
    ]);
    clock.advance(10_000);
    expect(written).toHaveLength(2);
    expect(written[1]).toEqual({
      type: 'round.declined',
      actor: 'mallory',
      details: { roundId: 7, reason: 'declined: spam', count: 4999, firstAt: 1, lastAt: 13, windowMs: 10_000 },
      count: 4999,
      summary: true,
    });
    expect(c.open).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('different types, actors or reasons are separate; a lone event writes nothing more; a later burst starts a new window', () => {
    const { clock, written, c } = setup(1000);
    c.record({ type: 'frame.rejected', actor: 'a', reason: 'too big' });
    c.record({ type: 'frame.rejected', actor: 'b', reason: 'too big' });
    c.record({ type: 'frame.rejected', actor: 'a', reason: 'bad magic' });
    c.record({ type: 'update.rejected', actor: 'a', reason: 'too big' });
    c.record({ type: 'frame.rejected', actor: 'a', reason: 'too big' });
    expect(written.map((e) => [e.type, e.actor, e.details.reason])).toEqual([
      ['frame.rejected', 'a', 'too big'],
      ['frame.rejected', 'b', 'too big'],
      ['frame.rejected', 'a', 'bad magic'],
      ['update.rejected', 'a', 'too big'],
    ]);
    clock.advance(1000);
    expect(written).toHaveLength(5);
    expect(written[4]).toMatchObject({ actor: 'a', count: 1, summary: true, details: { reason: 'too big', count: 1 } });
    c.record({ type: 'frame.rejected', actor: 'a', reason: 'too big' });
    expect(written).toHaveLength(6);
    expect(written[5]).toMatchObject({ count: 1, summary: false });
  });

  it('attacker-chosen reasons cannot open windows without bound: beyond maxKeys one window per type', () => {
    const { clock, written, c } = setup(1000, 10);
    for (let i = 0; i < 1000; i++) c.record({ type: 'hello.refused', actor: `claimed ${i}`, reason: `reason ${i}` });
    expect(c.open).toBe(11);
    expect(written).toHaveLength(11);
    clock.advance(1000);
    const summary = written.at(-1)!;
    expect(summary).toMatchObject({ type: 'hello.refused', count: 989, summary: true });
    expect(summary.details.reason).toMatch(/and other actors or reasons/);
  });

  it('flushAll writes pending summaries at once (shutdown) and cancels the timers', () => {
    const { clock, written, c } = setup();
    c.record({ type: 't', actor: 'x', reason: 'r' });
    c.record({ type: 't', actor: 'x', reason: 'r' });
    c.flushAll();
    expect(written.map((e) => e.count)).toEqual([1, 1]);
    expect(clock.pending).toBe(0);
    expect(() => setup(0)).toThrow(/windowMs must be > 0/);
  });
});
