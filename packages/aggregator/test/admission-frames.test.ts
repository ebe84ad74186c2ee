/**
 * Frame-size limits before and after login, over real sockets against a real aggregator:
 * an unauthenticated socket is held to the 64 KiB hello limit when the frame header arrives
 * (before the payload is read), an authenticated bank gets maxFrameBytes, and both closes
 * say the limit. Also: text frames, a second hello, frames before the welcome and hello
 * timeouts are audited. These tests also fail if a `ws` release moves the private field
 * server/admission/ws-limits.ts raises.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '@finsecure/common/protocol';
import type { RunningAggregator } from '../src/index.js';
import { frameLimit, MAX_HELLO_BYTES } from '../src/server/admission/ws-limits.js';
import { closeFrameIn, connect, frameHeader, hello, join, rawUpgrade } from './admission-clients.js';
import { api, cleanup, createBank, startTestAggregator, tempDir, waitFor } from './helpers/federation.js';

interface AuditEntry {
  type: string;
  actor: string;
  details: Record<string, unknown>;
}

let dir: string;
const running: RunningAggregator[] = [];

beforeAll(() => {
  dir = tempDir('finsecure-admission-frames-');
});
afterAll(() => cleanup(dir));
afterEach(async () => {
  for (const a of running.splice(0)) await a.close();
});

async function start(name: string, over: Parameters<typeof startTestAggregator>[1] = {}) {
  const agg = await startTestAggregator(path.join(dir, name), over);
  running.push(agg);
  return agg;
}

const port = (agg: RunningAggregator) => Number(new URL(agg.url).port);
const audit = async (agg: RunningAggregator) => (await api<AuditEntry[]>(agg, 'GET', '/api/audit?limit=10000')).body;
const findAudit = (agg: RunningAggregator, what: string, pred: (e: AuditEntry) => boolean) =>
  waitFor(what, async () => (await audit(agg)).find(pred), 10_000);

describe('frame limits before and after authentication', () => {
  it('refuses a 1 MB first frame at its header, before its payload is read, with 1009 and the limit', async () => {
    const agg = await start('header');
    const { sock, data, ended } = await rawUpgrade(port(agg), '/ws/bank');
    // Only the header and 100 bytes of the announced 1 MB: the refusal cannot have waited for the rest.
    sock.write(Buffer.concat([frameHeader(0x2, 1024 * 1024), Buffer.alloc(100)]));
    // Generous: if the aggregator waited for the payload, it would never close.
    const timedOut = await Promise.race([
      ended.then(() => false),
      new Promise((r) => setTimeout(() => r(true), 15_000)),
    ]);
    expect(timedOut, 'the aggregator waited for the rest of the 1 MB frame').toBe(false);
    const close = closeFrameIn(data);
    expect(close?.code).toBe(1009);
    expect(close?.reason).toBe(`frame over the ${MAX_HELLO_BYTES}-byte hello limit; authenticate first`);
    const entry = await findAudit(agg, 'the oversize audit entry', (e) => e.details.category === 'oversize');
    expect(entry.type).toBe('auth.failed');
    expect(entry.actor).toBe('unauthenticated');
    expect((await fetch(`${agg.url}/api/health`)).status).toBe(200);
  });

  it('an authenticated bank can send a 10 MB frame; frames over maxFrameBytes close with 1009 naming it', async () => {
    const agg = await start('big', { maxFrameBytes: 16 * 1024 * 1024 });
    const token = await createBank(agg, 'alpha');
    const bank = await join(`${agg.wsUrl}/ws/bank`, 'alpha', token);
    // 10 MB of zeros: not a valid frame, so the federation answers with an error, which proves it read it.
    bank.ws.send(Buffer.alloc(10 * 1024 * 1024));
    const err = await bank.next('error');
    expect(err.code).toBe('bad_frame');
    expect(bank.ws.readyState).toBe(WebSocket.OPEN);
    const rejected = await findAudit(agg, 'the 10 MB frame audited', (e) => e.type === 'frame.rejected');
    expect(rejected.details.bytes).toBe(10 * 1024 * 1024);
    bank.ws.send(Buffer.alloc(16 * 1024 * 1024 + 1));
    expect(await bank.closed).toMatchObject({
      code: 1009,
      reason: `frame over the ${16 * 1024 * 1024}-byte limit (maxFrameBytes)`,
    });
  });

  it('the private ws field the limits rely on is guarded', () => {
    // A WebSocket that never had a socket has no receiver: the guard names the file to update.
    const ws = new WebSocket(null as unknown as string, undefined, {} as never);
    expect(() => frameLimit(ws)).toThrow(/ws internals changed.*ws-limits\.ts/);
  });
});

describe('protocol violations around the hello are audited', () => {
  it('a text frame instead of a hello is a bad hello, audited as auth.failed', async () => {
    const agg = await start('text-before');
    const p = await connect(`${agg.wsUrl}/ws/bank`);
    p.ws.send('{"type":"hello"}');
    expect(await p.closed).toMatchObject({
      code: CloseCode.BadHello,
      reason: 'bad hello: a text frame; the hello is a binary frame',
    });
    await findAudit(agg, 'text hello audited', (e) => e.type === 'auth.failed' && e.details.category === 'bad_hello');
  });

  it('text frames and a second hello after the welcome are answered and audited under the bank', async () => {
    const agg = await start('after');
    const token = await createBank(agg, 'alpha');
    const bank = await join(`${agg.wsUrl}/ws/bank`, 'alpha', token);
    bank.ws.send('hi');
    expect((await bank.next('error')).code).toBe('bad_frame');
    bank.ws.send(hello('alpha', token));
    expect((await bank.next('error')).code).toBe('unexpected_hello');
    const text = await findAudit(agg, 'text frame audited', (e) => e.details.category === 'text_frame');
    expect(text).toMatchObject({ type: 'frame.rejected', actor: 'alpha' });
    const second = await findAudit(agg, 'second hello audited', (e) => e.details.category === 'second_hello');
    expect(second).toMatchObject({ type: 'frame.rejected', actor: 'alpha' });
    expect(bank.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a frame sent before the welcome is dropped and audited', async () => {
    const agg = await start('before-welcome');
    const token = await createBank(agg, 'alpha');
    const p = await connect(`${agg.wsUrl}/ws/bank`);
    p.ws.send(hello('alpha', token));
    p.ws.send(hello('alpha', token));
    await p.next('welcome');
    const entry = await findAudit(agg, 'frame before welcome', (e) => e.details.category === 'before_welcome');
    expect(entry.type).toBe('frame.rejected');
    expect(entry.actor).toBe('unauthenticated (claimed "alpha")');
  });

  it('an unknown peer that says nothing is closed after the short hello timeout, and audited', async () => {
    const agg = await start('timeout', { unknownPeerHelloTimeoutMs: 300, helloTimeoutMs: 20_000 });
    const t0 = Date.now();
    const p = await connect(`${agg.wsUrl}/ws/bank`);
    const closed = await p.closed;
    expect(closed).toMatchObject({ code: CloseCode.BadHello, reason: 'no hello within 300 ms' });
    // Well before the 20 s of a known address (generous bound: the machine may be busy).
    expect(closed.at - t0).toBeLessThan(10_000);
    const entry = await findAudit(agg, 'timeout audited', (e) => e.type === 'hello.timeout');
    expect(entry.actor).toBe('unauthenticated');
  });

  it('an address a bank authenticated from gets the full hello timeout', async () => {
    const agg = await start('known', { unknownPeerHelloTimeoutMs: 200, helloTimeoutMs: 60_000 });
    const token = await createBank(agg, 'alpha');
    const bank = await join(`${agg.wsUrl}/ws/bank`, 'alpha', token, '127.0.0.5');
    const stranger = await connect(`${agg.wsUrl}/ws/bank`, '127.0.0.6');
    const friend = await connect(`${agg.wsUrl}/ws/bank`, '127.0.0.5');
    // The stranger's socket closes at 200 ms; by then the friend's (same address as the bank) is still open.
    expect((await stranger.closed).reason).toBe('no hello within 200 ms');
    expect(friend.ws.readyState).toBe(WebSocket.OPEN);
    friend.ws.close();
    bank.ws.close();
  });
});
