/**
 * WebSocket upgrades to a path with no socket route get HTTP 404 at the upgrade, with the paths
 * that do take sockets (server/admission/ws-paths.ts); /ws/bank and /ws/events still upgrade. A
 * real aggregator on 127.0.0.1 with a built dashboard's wildcard in front of the 404 handler.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningAggregator } from '../src/index.js';
import { cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

type Outcome = { kind: 'http'; status: number; body: string } | { kind: 'open' };

/** Opens a WebSocket at `url`: either it upgrades, or the server's HTTP answer. */
function upgrade(url: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        req.destroy();
        resolve({ kind: 'http', status: res.statusCode ?? 0, body });
      });
    });
    ws.on('open', () => {
      ws.terminate();
      resolve({ kind: 'open' });
    });
    // After 'unexpected-response' ws reports the aborted request as an error too: already settled.
    ws.on('error', reject);
  });
}

let dir: string;
let agg: RunningAggregator;

beforeAll(async () => {
  dir = tempDir('finsecure-ws-paths-');
  // A dashboard directory: its wildcard route and not-found handler (SPA fallback) are in the way
  // of every path, as in a deployment.
  const dashboardDir = path.join(dir, 'dashboard');
  mkdirSync(dashboardDir, { recursive: true });
  writeFileSync(path.join(dashboardDir, 'index.html'), '<!doctype html><title>dashboard</title>');
  agg = await startTestAggregator(path.join(dir, 'agg'), { dashboardDir });
});
afterAll(async () => {
  await agg?.close();
  cleanup(dir);
});

describe('WebSocket upgrades by path', () => {
  it('upgrades at /ws/bank and /ws/events', async () => {
    expect(await upgrade(`${agg.wsUrl}/ws/bank`)).toEqual({ kind: 'open' });
    expect(await upgrade(`${agg.wsUrl}/ws/events`)).toEqual({ kind: 'open' });
  });

  it.each(['/', '/wrong/path', '/ws/bank/', '/ws/banks', '/api/health', '/docs', '/index.html'])(
    'answers 404 at %s, naming the socket paths',
    async (p) => {
      const got = await upgrade(`${agg.wsUrl}${p}?token=secret`);
      expect(got.kind).toBe('http');
      if (got.kind !== 'http') return;
      expect(got.status).toBe(404);
      const body = JSON.parse(got.body) as { error: string; message: string };
      expect(body.error).toBe('not_found');
      // The path without its query (which may hold a secret), and where banks connect.
      expect(body.message).toBe(
        `no WebSocket endpoint at ${p}: the aggregator's sockets are /ws/bank, /ws/events (banks connect at /ws/bank)`,
      );
    },
  );

  it('still serves the same paths over plain HTTP', async () => {
    expect((await fetch(`${agg.url}/index.html`)).status).toBe(200);
    expect((await fetch(`${agg.url}/api/health`)).status).toBe(200);
  });
});
