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
    expect(sessions.sweep(1_000, 20_000)).toEqual([]);
    expect([a.sent, b.sent, c.sent]).toEqual([['heartbeat'], ['heartbeat'], ['heartbeat']]);
    // a is sent a round's frame: the next sweep skips it, the one after beats it again.
    sessions.sendTo(['a'], commit);
    sessions.sweep(2_000, 20_000);
    expect([a.sent, b.sent]).toEqual([
      ['heartbeat', 'round_failed'],
      ['heartbeat', 'heartbeat'],
    ]);
    sessions.sweep(3_000, 20_000);
    expect(a.sent).toEqual(['heartbeat', 'round_failed', 'heartbeat']);
    // A heartbeat does not count as "sent since the sweep" for the next one.
    sessions.sweep(4_000, 20_000);
    expect(a.sent.filter((t) => t === 'heartbeat')).toHaveLength(3);
    // Banks heard from recently stay; one silent past the timeout is closed, unbeaten, and returned.
    sa.lastMessageAt = 20_000;
    b.sent.length = 0;
    expect(sessions.sweep(21_000, 20_000)).toEqual([sessions.get('b'), sc]);
    expect(b.closed).toEqual([CloseCode.HeartbeatTimeout]);
    expect(b.sent).toEqual([]);
    expect(a.closed).toEqual([]);
  });
});
