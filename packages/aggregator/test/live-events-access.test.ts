/**
 * Who sees what on /ws/events, over a real aggregator, real sessions and real sockets: each
 * event goes only to a role that may read the same data over REST; a session that must still
 * set up its account gets no stream; disabling the account ends the stream before anything
 * more is sent; unauthenticated sockets are capped per address. Waits are driven by events: a
 * status event the admin causes (pausing training) is the barrier after which every earlier
 * event has been delivered or withheld.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LiveEvent, RoundRecord } from '@finsecure/common/api';
import type { RunningAggregator } from '../src/service.js';
import { LIVE_LIMITS } from '../src/server/plugins/events.js';
import { changesAccess, eventPermission, LIVE_RECHECK_MS, needsRecheck } from '../src/server/live-access.js';
import { roundFor } from '../src/server/round-views.js';
import { ROLE_PERMISSIONS } from '@finsecure/accounts';
import { api, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

const PASSWORD = 'correct horse ledger 42';
let dir: string;
let agg: RunningAggregator;

beforeAll(async () => {
  dir = tempDir('finsecure-live-access-');
  agg = await startTestAggregator(path.join(dir, 'agg'));
});
afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

/** Creates a user (with `password`, or a one-time password when null) and signs in: the cookie header. */
async function signIn(username: string, role: string, password: string | null = PASSWORD): Promise<string> {
  const created = await api<{ account: { id: string }; oneTimePassword?: string }>(agg, 'POST', '/api/users', {
    username,
    role,
    ...(password ? { password } : {}),
  });
  expect(created.status).toBe(201);
  const res = await fetch(`${agg.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: password ?? created.body.oneTimePassword }),
  });
  expect(res.status).toBe(200);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

interface Stream {
  events: LiveEvent[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first event (after `from`) that matches. */
  next(match: (e: LiveEvent) => boolean, from?: number): Promise<LiveEvent>;
  ws: WebSocket;
}

/** Opens /ws/events with `cookie` and sends `{}`; resolves once the stream said hello (or closed). */
async function open(cookie: string, origin?: string): Promise<Stream> {
  const ws = new WebSocket(agg.url.replace(/^http/, 'ws') + '/ws/events', {
    headers: { cookie },
    ...(origin ? { origin } : {}),
  });
  const events: LiveEvent[] = [];
  const waiters: { match: (e: LiveEvent) => boolean; from: number; resolve: (e: LiveEvent) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    events.push(JSON.parse(data.toString('utf8')) as LiveEvent);
    for (const w of [...waiters]) {
      const hit = events.slice(w.from).find(w.match);
      if (!hit) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(hit);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => (ws.send('{}'), resolve()));
    ws.on('error', reject);
  });
  const stream: Stream = {
    events,
    closed,
    ws,
    next: (match, from = 0) =>
      new Promise((resolve) => {
        const hit = events.slice(from).find(match);
        if (hit) resolve(hit);
        else waiters.push({ match, from, resolve });
      }),
  };
  await Promise.race([stream.next((e) => e.type === 'status'), closed]);
  return stream;
}

/** Pauses training: an audit entry, then a status event every stream may see. */
async function barrier(streams: Stream[]): Promise<void> {
  const from = streams.map((s) => s.events.length);
  expect((await api(agg, 'POST', '/api/training/pause')).status).toBe(200);
  await Promise.all(streams.map((s, i) => s.next((e) => e.type === 'status', from[i])));
}

describe('live stream access', () => {
  it('sends each event only to a role that may read the same data over REST', async () => {
    const viewer = await open(await signIn('vera', 'viewer'));
    const auditor = await open(await signIn('otto', 'auditor'));
    const before = { viewer: viewer.events.length, auditor: auditor.events.length };
    expect((await api(agg, 'POST', '/api/banks', { id: 'bank-secret-7' })).status).toBe(201);
    await barrier([viewer, auditor]);

    const types = (s: Stream, from: number) => s.events.slice(from).map((e) => e.type);
    // The auditor reads the audit log; the viewer only charts (status and rounds).
    expect(types(auditor, before.auditor)).toEqual(expect.arrayContaining(['audit', 'status']));
    expect(
      auditor.events.some((e) => e.type === 'audit' && e.entry.type === 'bank.created'),
      'the auditor sees bank.created',
    ).toBe(true);
    expect(types(viewer, before.viewer)).not.toContain('audit');
    expect(types(viewer, before.viewer)).not.toContain('bank');
    expect(types(viewer, before.viewer)).toContain('status');
    viewer.ws.close();
    auditor.ws.close();
  });

  it('gives a viewer the rounds without rejection reasons, reputations and stages; an auditor in full', async () => {
    const round: RoundRecord = {
      id: 500,
      status: 'failed',
      startedAt: 1,
      endedAt: 2,
      config: {},
      selected: ['bank-a', 'bank-b'],
      participants: ['bank-a'],
      banks: {
        'bank-a': { bytesUp: 10, bytesDown: 20, numExamples: 7, metrics: { auprc: 0.5 }, reputation: { norm: 3 } },
        'bank-b': { bytesUp: 0, bytesDown: 20, rejected: 'update norm 9999 above the bound' },
      },
      stages: [{ name: 'fit', asked: 2, answered: 1, dropped: { 'bank-b': 'late' }, ms: 5 }],
      durations: {},
      baseModelVersion: 0,
      modelVersion: null,
      metrics: null,
      failureReason: 'no quorum',
    };
    await agg.store.saveRound(round);
    const list = async (cookie: string) => {
      const res = await fetch(`${agg.url}/api/rounds`, { headers: { cookie } });
      expect(res.status).toBe(200);
      return ((await res.json()) as RoundRecord[]).find((r) => r.id === 500)!;
    };
    const seen = await list(await signIn('vic', 'viewer'));
    expect(seen.banks).toEqual({
      'bank-a': { bytesUp: 10, bytesDown: 20, numExamples: 7, metrics: { auprc: 0.5 } },
      'bank-b': { bytesUp: 0, bytesDown: 20 },
    });
    expect(seen).not.toHaveProperty('stages');
    expect(seen.failureReason).toBe('no quorum');
    expect(await list(await signIn('aud', 'auditor'))).toEqual(round);
  });

  it('ignores a session cookie sent from a page of another origin', async () => {
    const cookie = await signIn('carl', 'auditor');
    const foreign = await open(cookie, 'http://evil.example');
    expect((await foreign.closed).code).toBe(4001);
    expect(foreign.events).toEqual([]);
    const own = await open(cookie, agg.url);
    expect(own.events.map((e) => e.type)).toEqual(['hello', 'status']);
    own.ws.close();
  });

  it('gives no stream to a session that must still change its one-time password', async () => {
    const pending = await open(await signIn('pat', 'auditor', null));
    expect(await pending.closed).toEqual({ code: 4003, reason: 'finish setting up your account first (Profile)' });
    expect(pending.events.map((e) => e.type)).toEqual([]);
  });

  it('ends the stream of a disabled account before anything more is sent', async () => {
    const cookie = await signIn('dora', 'auditor');
    const stream = await open(cookie);
    const users = await api<{ id: string; username: string }[]>(agg, 'GET', '/api/users');
    const dora = users.body.find((u) => u.username === 'dora')!;
    const from = stream.events.length;
    expect((await api(agg, 'PATCH', `/api/users/${dora.id}`, { disabled: true })).status).toBe(200);
    expect((await stream.closed).code).toBe(4001);
    // Neither the entry that disabled it nor anything after it reached the stream.
    expect(stream.events.slice(from).filter((e) => e.type === 'audit')).toEqual([]);
  });

  it('applies a new role from the next event; a logout ends the stream without an "unknown session" entry', async () => {
    const cookie = await signIn('rita', 'auditor');
    const stream = await open(cookie);
    const users = await api<{ id: string; username: string }[]>(agg, 'GET', '/api/users');
    const rita = users.body.find((u) => u.username === 'rita')!;
    const told = stream.events.length;
    expect((await api(agg, 'PATCH', `/api/users/${rita.id}`, { role: 'viewer' })).status).toBe(200);
    // The page is told, to re-read who it is and draw the viewer's panels.
    expect(await stream.next((e) => e.type === 'role', told)).toEqual({ type: 'role', role: 'viewer' });
    const from = stream.events.length;
    expect((await api(agg, 'POST', '/api/banks', { id: 'bank-after-demotion' })).status).toBe(201);
    await barrier([stream]);
    expect(stream.events.slice(from).filter((e) => e.type === 'audit')).toEqual([]);

    const rejected = async () =>
      (await api<{ type: string }[]>(agg, 'GET', '/api/audit?limit=1000')).body.filter(
        (e) => e.type === 'auth.session_rejected',
      ).length;
    const before = await rejected();
    const csrf = /fs_csrf=([^;]+)/.exec(cookie)![1]!;
    const out = await fetch(`${agg.url}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.status).toBe(200);
    expect((await stream.closed).code).toBe(4001);
    expect(await rejected()).toBe(before);
  });

  it('announces a change of the settings to every role, and the new round budget in the status', async () => {
    const viewer = await open(await signIn('vince', 'viewer'));
    const from = viewer.events.length;
    const rounds = agg.federation.status().roundsConfigured + 5;
    expect((await api(agg, 'PUT', '/api/config', { rules: { rounds } })).status).toBe(200);
    await viewer.next((e) => e.type === 'settings', from);
    const status = await viewer.next((e) => e.type === 'status' && e.status.roundsConfigured === rounds, from);
    expect(status.type).toBe('status');
    viewer.ws.close();
  });

  it('caps the sockets of one address that have not authenticated yet', async () => {
    const url = agg.url.replace(/^http/, 'ws') + '/ws/events';
    const idle: WebSocket[] = [];
    for (let i = 0; i < LIVE_LIMITS.maxUnauthenticatedPerAddress; i++) {
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => (ws.on('open', resolve), ws.on('error', reject)));
      idle.push(ws);
    }
    const extra = new WebSocket(url);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      extra.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/waiting to authenticate/);
    for (const ws of idle) ws.close();
  });
});

describe('live-access rules', () => {
  const audit = (type: string): LiveEvent => ({
    type: 'audit',
    entry: { seq: 1, at: 0, type, actor: 'a', details: {}, prevHash: '', hash: '' },
  });

  it('maps each event to the permission of the route that serves the same data', () => {
    expect(eventPermission(audit('bank.created'))).toBe('audit.read');
    expect(eventPermission({ type: 'bank', bank: {} as never })).toBe('banks.read');
    expect(eventPermission({ type: 'round', round: {} as never })).toBe('charts.read');
    expect(eventPermission({ type: 'status', status: {} as never })).toBe('charts.read');
  });

  it('gives a round event to a caller without rounds.read as the rounds list does', () => {
    const round = {
      id: 1,
      banks: { a: { bytesUp: 1, bytesDown: 2, rejected: 'why', reputation: { norm: 1 } } },
      stages: [],
    } as unknown as RoundRecord;
    expect(roundFor(round, ROLE_PERMISSIONS.viewer)).toEqual({ id: 1, banks: { a: { bytesUp: 1, bytesDown: 2 } } });
    expect(roundFor(round, ROLE_PERMISSIONS.auditor)).toBe(round);
    expect(roundFor(round, undefined)).toBe(round); // no authentication configured
    expect(round.banks.a!.rejected).toBe('why'); // the record itself is left as it was
  });

  it('re-checks at once after a change to accounts, sessions or tokens, otherwise every LIVE_RECHECK_MS', () => {
    for (const t of ['user.disabled', 'user.role_changed', 'auth.logout', 'auth.session_expired', 'token.revoked'])
      expect(changesAccess(audit(t)), t).toBe(true);
    for (const t of ['bank.created', 'auth.login', 'token.created', 'round.committed'])
      expect(changesAccess(audit(t)), t).toBe(false);
    const status: LiveEvent = { type: 'status', status: {} as never };
    expect(needsRecheck(status, 1_000, 1_000 + LIVE_RECHECK_MS - 1)).toBe(false);
    expect(needsRecheck(status, 1_000, 1_000 + LIVE_RECHECK_MS)).toBe(true);
    expect(needsRecheck(audit('user.disabled'), 1_000, 1_000)).toBe(true);
  });
});
