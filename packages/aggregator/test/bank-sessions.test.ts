/**
 * The heartbeat sweep of the connected banks (BankSessions.sweep): a heartbeat only to a bank
 * that was sent nothing since the previous sweep, and silent banks closed. Pure: the sessions'
 * connections are recorders, time is passed in.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode, decodeFrame, encodeFrame, ServerMessage, type Hello } from '@finsecure/common/protocol';
import { BankSession } from '../src/federation/session.js';
import { BankSessions } from '../src/federation/sessions.js';

function recorder() {
  const sent: string[] = [];
  const closed: number[] = [];
  return {
    sent,
    closed,
    conn: {
      send: (frame: Uint8Array) => sent.push(decodeFrame(frame, ServerMessage).msg.type),
      close: (code: number) => closed.push(code),
    },
  };
}

const I = 1_000;

describe('the heartbeat sweep', () => {
  const hello = { bankId: 'x' } as Hello;
  const commit = encodeFrame({ type: 'round_failed', roundId: 1, reason: 'test' });

  it('beats only banks sent nothing since the previous sweep, and closes silent ones', () => {
    const sessions = new BankSessions();
    const [a, b, c] = [recorder(), recorder(), recorder()];
    const sa = new BankSession('a', hello, a.conn, 0);
    sessions.add(sa);
    sessions.add(new BankSession('b', hello, b.conn, 0));
    const sc = new BankSession('c', hello, c.conn, 0);
    sessions.add(sc);
    // First sweep: nothing was sent yet, every bank gets a heartbeat.
    expect(sessions.sweep(1_000, 20_000, I).silent).toEqual([]);
    expect([a.sent, b.sent, c.sent]).toEqual([['heartbeat'], ['heartbeat'], ['heartbeat']]);
    // a is sent a round's frame: the next sweep skips it, the one after beats it again.
    sessions.sendTo(['a'], commit);
    sessions.sweep(2_000, 20_000, I);
    expect([a.sent, b.sent]).toEqual([
      ['heartbeat', 'round_failed'],
      ['heartbeat', 'heartbeat'],
    ]);
    sessions.sweep(3_000, 20_000, I);
    expect(a.sent).toEqual(['heartbeat', 'round_failed', 'heartbeat']);
    // A heartbeat does not count as "sent since the sweep" for the next one.
    sessions.sweep(4_000, 20_000, I);
    expect(a.sent.filter((t) => t === 'heartbeat')).toHaveLength(3);
    // Banks heard from recently stay; one silent past the timeout is closed, unbeaten, and returned.
    for (let t = 5_000; t <= 20_000; t += I) expect(sessions.sweep(t, 20_000, I).silent).toEqual([]);
    sa.lastMessageAt = 20_000;
    b.sent.length = 0;
    expect(sessions.sweep(21_000, 20_000, I)).toEqual({ silent: [sessions.get('b'), sc], lateMs: 0 });
    expect(b.closed).toEqual([CloseCode.HeartbeatTimeout]);
    expect(b.sent).toEqual([]);
    expect(a.closed).toEqual([]);
  });

  it('closes no bank in a sweep that ran late (the loop was held, its frames unread); the next sweep judges', () => {
    const sessions = new BankSessions();
    const [a, b] = [recorder(), recorder()];
    const sa = new BankSession('a', hello, a.conn, 0);
    const sb = new BankSession('b', hello, b.conn, 0);
    sessions.add(sa);
    sessions.add(sb);
    expect(sessions.sweep(I, 20_000, I)).toEqual({ silent: [], lateMs: 0 });
    // Held 24 s: both look silent past the timeout, but a's heartbeats may wait unread in its socket.
    expect(sessions.sweep(25_000, 20_000, I)).toEqual({ silent: [], lateMs: 23_000 });
    expect([a.closed, b.closed]).toEqual([[], []]);
    expect(a.sent.at(-1)).toBe('heartbeat');
    // The sockets are read: a was alive, b was not.
    sa.lastMessageAt = 25_100;
    expect(sessions.sweep(26_000, 20_000, I)).toEqual({ silent: [sb], lateMs: 0 });
    expect(b.closed).toEqual([CloseCode.HeartbeatTimeout]);
    sessions.remove(sb); // as the caller's detach does
    // Held again and again: a sweep is postponed once at most, so a bank really gone is still closed.
    expect(sessions.sweep(60_000, 20_000, I).silent).toEqual([]);
    expect(sessions.sweep(90_000, 20_000, I)).toEqual({ silent: [sa], lateMs: 0 });
  });

  it('judges the first sweep late too, against when the sweeps started', () => {
    const sessions = new BankSessions();
    const a = recorder();
    sessions.add(new BankSession('a', hello, a.conn, 0));
    sessions.sweepsStart(0);
    expect(sessions.sweep(25_000, 20_000, I)).toEqual({ silent: [], lateMs: 24_000 });
    expect(a.closed).toEqual([]);
  });
});
