/**
 * The console's keep-alive (POST /api/session/refresh): reads never extend a session, the
 * page's refresh while the person works does. An injected clock, a real console over HTTP.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, consoleWithPeople, type Client, type RunningConsole } from './helpers/console.js';

let t = Date.UTC(2026, 11, 4, 9, 0, 0);
let dir: string;
let c: RunningConsole;
let ana: Client;
let bob: Client;
beforeAll(async () => {
  let clients: Record<string, Client>;
  ({ dir, c, clients } = await consoleWithPeople(
    'finsecure-refresh-',
    { ana: 'analyst', bob: 'analyst' },
    { now: () => t },
  ));
  [ana, bob] = [clients.ana!, clients.bob!];
});
afterAll(async () => {
  await c?.close();
  cleanup(dir);
});

it('a refresh moves the idle deadline; reads alone do not, and the session ends 15 minutes after the last change', async () => {
  const minute = 60_000;
  t += 10 * minute;
  expect((await ana.get('/api/whoami')).status).toBe(200);
  expect((await bob.get('/api/whoami')).status).toBe(200);
  const refreshed = await ana.post('/api/session/refresh');
  expect(refreshed.status).toBe(200);
  expect(refreshed.body).toEqual({ expiresAt: t + 15 * minute, now: t });
  t += 10 * minute; // 20 minutes after sign-in, 10 after ana's refresh
  expect((await ana.get('/api/alerts')).status).toBe(200);
  expect((await bob.get('/api/alerts')).status).toBe(401);
});
