/**
 * Admission of bank sockets before login, over real sockets (each "attacker" its own
 * loopback address) against a real aggregator with a real SQLite file: per-address caps
 * keep a bank able to join while an address floods; a full pool evicts instead of locking
 * out; failed logins rate-limit an address without calling authenticate; repeated refusals
 * are one audit entry and one log line plus one summary with a count (also at shutdown).
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '@finsecure/common/protocol';
import { startAggregator, type RunningAggregator } from '../src/index.js';
import { connect, hello, join, type Peer } from './admission-clients.js';
import { ManualClock } from './helpers/manual-clock.js';
import {
  aggregatorConfig,
  api,
  cleanup,
  createBank,
  startTestAggregator,
  tempDir,
  waitFor,
} from './helpers/federation.js';

interface AuditEntry {
  type: string;
  actor: string;
  details: Record<string, unknown>;
}

let dir: string;
const running: RunningAggregator[] = [];
const peers: Peer[] = [];

beforeAll(() => {
  dir = tempDir('finsecure-admission-limits-');
});
afterAll(() => cleanup(dir));
afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  for (const a of running.splice(0)) await a.close();
});

async function start(name: string, over: Parameters<typeof startTestAggregator>[1] = {}) {
  const agg = await startTestAggregator(path.join(dir, name), over);
  running.push(agg);
  return agg;
}

async function open(agg: RunningAggregator, from: string): Promise<Peer> {
  const p = await connect(`${agg.wsUrl}/ws/bank`, from);
  peers.push(p);
  return p;
}

const audit = async (agg: RunningAggregator) => (await api<AuditEntry[]>(agg, 'GET', '/api/audit?limit=10000')).body;

describe('per-address limits before login', () => {
  it('one address holding many idle sockets cannot lock a bank out', async () => {
    const agg = await start('lockout', { helloTimeoutMs: 60_000, unknownPeerHelloTimeoutMs: 60_000 });
    const token = await createBank(agg, 'alpha');
    const all = await Promise.all(Array.from({ length: 40 }, () => open(agg, '127.0.0.2')));
    const closes: { code: number; reason: string }[] = [];
    for (const p of all) void p.closed.then((c) => closes.push(c));
    await waitFor('24 refusals', () => closes.length >= 24, 20_000);
    for (const c of closes) {
      expect(c.code).toBe(1013);
      expect(c.reason).toBe('too many connections from your address waiting to authenticate (limit 16); retry later');
    }
    expect(all.filter((p) => p.ws.readyState === WebSocket.OPEN)).toHaveLength(16);
    const bank = await join(`${agg.wsUrl}/ws/bank`, 'alpha', token, '127.0.0.3');
    peers.push(bank);
    expect(bank.ws.readyState).toBe(WebSocket.OPEN);
    const rows = (await audit(agg)).filter((e) => e.type === 'connection.refused');
    // 24 refusals from one address, one window: one entry (the summary comes when the window closes).
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toMatchObject({ remote: '127.0.0.2', category: 'maxUnauthenticatedPerAddress' });
  });

  it('caps all sockets of one address, authenticated or not', async () => {
    const agg = await start('total', { maxConnectionsPerAddress: 3, maxUnauthenticatedPerAddress: 2 });
    const tokens = await Promise.all(['a', 'b', 'c'].map((id) => createBank(agg, id)));
    peers.push(await join(`${agg.wsUrl}/ws/bank`, 'a', tokens[0]!, '127.0.0.4'));
    peers.push(await join(`${agg.wsUrl}/ws/bank`, 'b', tokens[1]!, '127.0.0.4'));
    peers.push(await join(`${agg.wsUrl}/ws/bank`, 'c', tokens[2]!, '127.0.0.4'));
    const fourth = await open(agg, '127.0.0.4');
    expect(await fourth.closed).toMatchObject({
      code: 1013,
      reason: 'too many connections from your address (limit 3); retry later',
    });
  });

  it('a full pool evicts the oldest waiting socket of the busiest address, never the newcomer', async () => {
    const agg = await start('evict', {
      maxUnauthenticated: 6,
      maxUnauthenticatedPerAddress: 3,
      helloTimeoutMs: 60_000,
      unknownPeerHelloTimeoutMs: 60_000,
    });
    const token = await createBank(agg, 'alpha');
    const x = [await open(agg, '127.0.0.10'), await open(agg, '127.0.0.10'), await open(agg, '127.0.0.10')];
    const y = [await open(agg, '127.0.0.11'), await open(agg, '127.0.0.11')];
    const z = await open(agg, '127.0.0.12');
    const bank = await join(`${agg.wsUrl}/ws/bank`, 'alpha', token, '127.0.0.13');
    peers.push(bank);
    expect(await x[0]!.closed).toMatchObject({
      code: 1013,
      reason: 'evicted: too many connections waiting to authenticate (limit 6); retry later',
    });
    for (const p of [...x.slice(1), ...y, z]) expect(p.ws.readyState).toBe(WebSocket.OPEN);
    expect(bank.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('failed logins per address', () => {
  it('after N failures an address is refused at once, even with a valid token, saying when to retry', async () => {
    const agg = await start('ratelimit', { bankLoginMaxFailures: 3, bankLoginWindowMs: 60_000 });
    const token = await createBank(agg, 'alpha');
    for (let i = 0; i < 3; i++) {
      const p = await open(agg, '127.0.0.20');
      p.ws.send(hello('alpha', 'x'.repeat(32)));
      expect((await p.closed).code).toBe(CloseCode.Unauthorized);
    }
    // The token is right, but the hello is never read: authenticate is not called.
    const p = await open(agg, '127.0.0.20');
    p.ws.send(hello('alpha', token));
    const closed = await p.closed;
    expect(closed.code).toBe(1008);
    // Seconds left of the 60 s window, however long the tries took on a loaded machine.
    const retry = /^too many failed logins from your address; retry in (\d+) s$/.exec(closed.reason);
    expect(Number(retry?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(retry?.[1])).toBeLessThanOrEqual(60);
    // Another address is not affected.
    peers.push(await join(`${agg.wsUrl}/ws/bank`, 'alpha', token, '127.0.0.21'));
    const rows = await audit(agg);
    expect(rows.filter((e) => e.type === 'auth.failed' && e.details.remote === '127.0.0.20')).toHaveLength(1);
    expect(rows.find((e) => e.type === 'connection.refused')?.details).toMatchObject({
      remote: '127.0.0.20',
      category: 'login_rate',
    });
  });

  it('hello timeouts count as failures too', async () => {
    const agg = await start('timeouts', { bankLoginMaxFailures: 2, unknownPeerHelloTimeoutMs: 150 });
    for (let i = 0; i < 2; i++) expect((await (await open(agg, '127.0.0.22')).closed).code).toBe(CloseCode.BadHello);
    expect((await (await open(agg, '127.0.0.22')).closed).code).toBe(1008);
  });
});

describe('repeated refusals are aggregated', () => {
  it('one audit entry and one log line per window, then one summary with the count', async () => {
    const lines: { msg: string; remote?: string; repeats?: number }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const config = aggregatorConfig(path.join(dir, 'aggregate'), {
      refusalAuditWindowMs: 1_000,
      bankLoginMaxFailures: 1_000,
    });
    // The window is the test's to end: on the real clock a loaded machine split the 12 refusals in two.
    const clock = new ManualClock();
    const agg = await startAggregator(config, { logger: pino({ level: 'warn' }, sink), clock });
    running.push(agg);
    for (let i = 0; i < 12; i++) {
      const p = await open(agg, '127.0.0.30');
      p.ws.send(hello(i < 9 ? 'claimed-a' : 'claimed-b', 'y'.repeat(32)));
      expect((await p.closed).reason).toBe('unknown bank or bad token');
    }
    const mine = (rows: AuditEntry[]) =>
      rows.filter((e) => e.type === 'auth.failed' && e.details.remote === '127.0.0.30');
    await waitFor('the first refusals audited', async () => mine(await audit(agg)).length >= 2);
    clock.advance(1_000);
    const rows = await waitFor('the summary', async () => {
      const r = mine(await audit(agg));
      return r.length >= 4 ? r : null;
    });
    // Tries for each claimed id are one entry each, then one summary each (9 = 1 + 8, 3 = 1 + 2).
    const a = rows.filter((e) => e.actor === 'unauthenticated (claimed "claimed-a")');
    const b = rows.filter((e) => e.actor === 'unauthenticated (claimed "claimed-b")');
    expect(rows).toHaveLength(4);
    expect(a.map((e) => e.details.repeats)).toEqual([undefined, 8]);
    expect(b.map((e) => e.details.repeats)).toEqual([undefined, 2]);
    expect(a[0]!.details).toMatchObject({ category: 'credentials', reason: 'unknown bank or bad token' });
    expect(a[1]!.details).toMatchObject({ category: 'credentials', windowMs: 1_000 });
    const logged = lines.filter((l) => l.remote === '127.0.0.30');
    expect(logged).toHaveLength(4);
    expect(logged.map((l) => l.msg)).toContain('bank connection refused: 8 more times within 1000 ms');
    expect(JSON.stringify(rows)).not.toContain('y'.repeat(32));
  });

  it('the counts of a window still open are written at shutdown', async () => {
    const dataDir = path.join(dir, 'shutdown');
    const agg = await start('shutdown', { refusalAuditWindowMs: 3_600_000, bankLoginMaxFailures: 1_000 });
    for (let i = 0; i < 5; i++) {
      const p = await open(agg, '127.0.0.31');
      p.ws.send(new Uint8Array([1, 2, 3]));
      expect((await p.closed).code).toBe(CloseCode.BadHello);
    }
    await agg.close();
    running.splice(running.indexOf(agg), 1);
    // The same SQLite file, read by the next aggregator.
    const again = await startTestAggregator(dataDir);
    running.push(again);
    const rows = (await audit(again)).filter((e) => e.type === 'auth.failed' && e.details.remote === '127.0.0.31');
    expect(rows.map((r) => r.details.repeats)).toEqual([undefined, 4]);
    expect((await api<{ ok: boolean }>(again, 'GET', '/api/audit/verify')).body.ok).toBe(true);
  });
});
