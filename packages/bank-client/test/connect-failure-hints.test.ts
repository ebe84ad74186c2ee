/**
 * The hints the bank daemon gives for a failed connection and how often it says them
 * (src/connect-failure.ts), without sockets: by HTTP status, by error code, the reminders, and each
 * cause remembered apart. The same over real sockets: connect-failure.test.ts.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  failureOfEarlyClose,
  failureOfError,
  failureOfResponse,
  FailureLog,
  shownUrl,
} from '../src/connect-failure.js';
import { DEBUG, ERROR, WARN, type Line } from './helpers/log-lines.js';

describe('the hints (connect-failure.ts)', () => {
  const at = 'ws://127.0.0.1:8080/wrong/path';
  it('by HTTP status', () => {
    expect(failureOfResponse(at, 401).hint).toContain('a proxy or gateway in between refused');
    expect(failureOfResponse(at, 502)).toMatchObject({ cause: 'http-502', level: 'warn' });
    expect(failureOfResponse(at, 200).hint).toBe(
      'HTTP 200 from ws://127.0.0.1:8080/wrong/path instead of a WebSocket upgrade: not a FinSecure aggregator, or a proxy in between that does not pass WebSocket upgrades (banks connect at ws://127.0.0.1:8080/ws/bank)',
    );
    expect(failureOfResponse('ws://127.0.0.1:8080/ws/bank', 200).hint).not.toContain('banks connect at');
    expect(failureOfResponse('ws://127.0.0.1:8080/ws/bank', 404).hint).toContain(
      'a proxy in front of the aggregator with no route to its /ws/bank',
    );
    expect(failureOfResponse('ws://example.org/ws/bank', 301, 'https://example.org/ws/bank').hint).toContain(
      'redirects to wss://example.org/ws/bank',
    );
  });

  it('by error code, and never with credentials from the URL', () => {
    const err = (code: string, message = code) => Object.assign(new Error(message), { code });
    expect(failureOfError(at, err('ENOTFOUND'), { caFile: false }).hint).toContain(
      'host name 127.0.0.1 does not resolve',
    );
    expect(failureOfError(at, err('ERR_TLS_CERT_ALTNAME_INVALID'), { caFile: true }).level).toBe('error');
    expect(
      failureOfError('wss://a.example:9443/ws/bank', err('SELF_SIGNED_CERT_IN_CHAIN'), { caFile: true }).hint,
    ).toContain('the CA in --ca-file (FINSECURE_CA_FILE) did not sign');
    expect(failureOfError(at, new Error('Opening handshake has timed out'), { caFile: false }).cause).toBe(
      'handshake-timeout',
    );
    expect(shownUrl('wss://user:secret@agg.example:443/ws/bank?token=secret')).toBe('wss://agg.example/ws/bank?…');
    expect(failureOfEarlyClose('ws://u:secret@h:1/ws/bank', 4006, 'shutting down').hint).not.toContain('secret');
    expect(failureOfEarlyClose('ws://h:1/ws/bank', 1005, '').cause).toBe('closed-1005');
  });

  it('reminds after 20 attempts or 5 minutes, whichever comes first', () => {
    const lines: Line[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    let now = 0;
    const log = new FailureLog(logger, at, { now: () => now });
    const f = failureOfResponse(at, 404);
    log.failed(f, 100);
    for (let i = 0; i < 3; i++) log.failed(f, 100);
    now += 5 * 60_000;
    log.failed(f, 100);
    expect(lines.map((l) => [l.level, l.msg.split(':')[0]])).toEqual([
      [ERROR, 'cannot join the aggregator'],
      [DEBUG, 'connection attempt 2 failed again (http-404); retrying in 100 ms'],
      [DEBUG, 'connection attempt 3 failed again (http-404); retrying in 100 ms'],
      [DEBUG, 'connection attempt 4 failed again (http-404); retrying in 100 ms'],
      [ERROR, 'still cannot join the aggregator after 5 attempts over 5 min'],
    ]);
    expect(log.joined()).toEqual({ failedAttempts: 5, downMs: 5 * 60_000, lastCause: 'http-404' });
    expect(log.attempts).toBe(0);
  });

  it('remembers each cause apart: failures that alternate say each hint once, then remind per cause', () => {
    const lines: Line[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    const log = new FailureLog(logger, at, { now: () => 0 });
    const refused = failureOfError(at, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), {
      caFile: false,
    });
    const badGateway = failureOfResponse(at, 502);
    for (let i = 0; i < 20; i++) log.failed(i % 2 === 0 ? refused : badGateway, 100);
    const loud = lines.filter((l) => l.level >= WARN);
    expect(loud.map((l) => [l.cause, l.attempt])).toEqual([
      [refused.cause, 1],
      ['http-502', 2],
    ]);
    expect(loud[1]!.msg).toContain(`(the cause changed from ${refused.cause})`);
    expect(lines[2]!.msg).toBe(`connection attempt 3 failed (was http-502) (${refused.cause}); retrying in 100 ms`);
    // Attempt 21 is the refusal's 20th attempt since it was said; 22 the 502's.
    log.failed(refused, 100);
    log.failed(badGateway, 100);
    expect(lines.filter((l) => l.level >= WARN).map((l) => [l.cause, l.attempt])).toEqual([
      [refused.cause, 1],
      ['http-502', 2],
      [refused.cause, 21],
      ['http-502', 22],
    ]);
    expect(log.joined().lastCause).toBe('http-502');
  });
});
