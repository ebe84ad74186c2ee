/**
 * A request must arrive whole within requestTimeoutMs (server/request-limits.ts requestTimeouts): a client
 * that stalls in its headers or in the middle of its body gets 408 and its socket closed, instead
 * of holding the request open for ever (Fastify's requestTimeout defaulted to 0). A WebSocket is
 * not held to it once upgraded. Real sockets on 127.0.0.1, a real SQLite file; the waits are on
 * socket events, with a short injected timeout.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../src/config/load.js';
import type { RunningAggregator } from '../src/index.js';
import { ADMIN, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

const TIMEOUT_MS = 300;

let dir: string;
let agg: RunningAggregator;
beforeAll(async () => {
  dir = tempDir();
  agg = await startTestAggregator(path.join(dir, 'timeout'), { requestTimeoutMs: TIMEOUT_MS });
});
afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

/** Sends `head` on a raw socket and stalls; resolves with what the server sent once it closed the socket. */
function stall(head: string): Promise<{ reply: string; elapsedMs: number }> {
  const { hostname, port } = new URL(agg.url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ host: hostname, port: Number(port) }, () => socket.write(head));
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () =>
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), elapsedMs: performance.now() - started }),
    );
  });
}

const POST_HEAD = [
  'POST /api/training/start HTTP/1.1',
  'Host: 127.0.0.1',
  `Authorization: Bearer ${ADMIN}`,
  'Content-Type: application/json',
  'Content-Length: 100',
  '',
  '',
].join('\r\n');

describe('request timeout', () => {
  it('answers 408 and closes a request stalled mid-body (Content-Length 100, 6 bytes sent)', async () => {
    const { reply, elapsedMs } = await stall(`${POST_HEAD}{"add"`);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    // Not before the limit (the upper bound is the test's own timeout: no request may last for ever).
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    // The half-sent body never reached the route: training was not started.
    const status = (await (
      await fetch(`${agg.url}/api/status`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as { state: string };
    expect(status.state).not.toBe('running');
  }, 20_000);

  it('answers 408 and closes a request whose headers never end', async () => {
    const { reply } = await stall('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1');
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  }, 20_000);

  it('does not close a WebSocket that outlived the limit', async () => {
    const ws = new WebSocket(agg.url.replace(/^http/, 'ws') + '/ws/events');
    const closed: number[] = [];
    ws.on('close', (code) => closed.push(code));
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ token: ADMIN })));
      ws.once('message', () => resolve());
      ws.on('error', reject);
    });
    // A request started after the upgrade timed out, so the server checked past the socket's own limit.
    const { reply } = await stall(`${POST_HEAD}{"add"`);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    // The stream is still open and still answers.
    const pong = new Promise<void>((resolve) => ws.once('pong', () => resolve()));
    ws.ping();
    await pong;
    expect(closed).toEqual([]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  }, 20_000);

  it('still serves ordinary requests', async () => {
    const res = await fetch(`${agg.url}/api/health`);
    expect(res.status).toBe(200);
  });
});

describe('requestTimeoutMs setting', () => {
  it('defaults to 30 s and refuses values off its range, naming the setting', () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(30_000);
    for (const bad of [0, 99, 3_600_001, 1.5])
      expect(() => loadConfig({ flags: { requestTimeoutMs: bad } })).toThrow(/requestTimeoutMs/);
  });
});
