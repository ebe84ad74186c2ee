/**
 * The pure parts of bank-socket admission (server/admission/), with an injected clock:
 * address keys, the connection table and its eviction, failed-login windows, and the
 * aggregation of repeated refusals into one entry plus one summary.
 */
import { describe, expect, it } from 'vitest';
import { buildCommand, type ParsedFlags } from '../src/cli/options.js';
import { loadConfig } from '../src/config/load.js';
import { addressKey } from '../src/server/admission/address.js';
import { ConnectionTable } from '../src/server/admission/connection-table.js';
import { FailedLogins } from '../src/server/admission/failed-logins.js';
import { KnownAddresses } from '../src/server/admission/known-addresses.js';
import { RepeatAggregator, type RepeatEvent } from '../src/server/admission/repeats.js';

describe('addressKey', () => {
  it('keeps IPv4, unmaps IPv4-mapped IPv6, and groups IPv6 by /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aa::5')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('ConnectionTable', () => {
  const limits = { maxUnauthenticated: 4, maxUnauthenticatedPerAddress: 2, maxConnectionsPerAddress: 3 };

  it('caps waiting sockets per address, and all sockets per address', () => {
    const t = new ConnectionTable<string>(limits);
    expect(t.admit('a', 'a1')).toEqual({ ok: true, evict: null });
    expect(t.admit('a', 'a2')).toEqual({ ok: true, evict: null });
    const third = t.admit('a', 'a3');
    expect(third).toMatchObject({ ok: false, limit: 'maxUnauthenticatedPerAddress' });
    expect(!third.ok && third.reason).toMatch(/waiting to authenticate \(limit 2\)/);
    // Authenticated sockets no longer wait, but still count for their address.
    t.authenticated('a1');
    t.authenticated('a2');
    expect(t.admit('a', 'a3').ok).toBe(true);
    expect(t.admit('a', 'a4')).toMatchObject({ ok: false, limit: 'maxConnectionsPerAddress' });
    t.release('a1');
    expect(t.admit('a', 'a4').ok).toBe(true);
    expect(t.countsOf('a')).toEqual({ total: 3, waiting: 2 });
  });

  it('when the pool is full, evicts the oldest waiting socket of the busiest address instead of refusing', () => {
    const t = new ConnectionTable<string>(limits);
    t.admit('x', 'x1');
    t.admit('y', 'y1');
    t.admit('y', 'y2');
    t.admit('z', 'z1');
    expect(t.waiting).toBe(4);
    // y has the most waiting: its oldest (y1) goes, not x1 (older, but from a quieter address).
    expect(t.admit('bank', 'b1')).toEqual({ ok: true, evict: { conn: 'y1', address: 'y' } });
    expect(t.countsOf('y')).toEqual({ total: 1, waiting: 1 });
    // Now every address has one: the oldest overall (x1) goes.
    expect(t.admit('other', 'o1')).toEqual({ ok: true, evict: { conn: 'x1', address: 'x' } });
    expect(t.waiting).toBe(4);
    // Releasing an evicted socket later (its close event) changes nothing.
    t.release('y1');
    t.release('x1');
    expect(t.waiting).toBe(4);
    expect(t.countsOf('x')).toEqual({ total: 0, waiting: 0 });
  });

  it('never evicts a socket whose hello is being checked; refuses when nothing idle is left', () => {
    const t = new ConnectionTable<string>({ ...limits, maxUnauthenticated: 2 });
    t.admit('x', 'x1');
    t.admit('x', 'x2');
    t.helloReceived('x1');
    expect(t.admit('y', 'y1')).toEqual({ ok: true, evict: { conn: 'x2', address: 'x' } });
    t.helloReceived('y1');
    const full = t.admit('z', 'z1');
    expect(full).toMatchObject({ ok: false, limit: 'maxUnauthenticated' });
    expect(!full.ok && full.reason).toMatch(/waiting to authenticate \(limit 2\)/);
  });

  it('release is idempotent and forgets empty addresses', () => {
    const t = new ConnectionTable<string>(limits);
    t.admit('a', 'a1');
    t.release('a1');
    t.release('a1');
    t.authenticated('a1');
    expect(t.waiting).toBe(0);
    expect(t.countsOf('a')).toEqual({ total: 0, waiting: 0 });
  });
});

describe('FailedLogins', () => {
  it('blocks an address after maxFailures within the window, until the window ends', () => {
    const f = new FailedLogins({ maxFailures: 3, windowMs: 60_000 });
    expect(f.check('a', 0)).toEqual({ ok: true });
    f.fail('a', 1_000);
    f.fail('a', 2_000);
    expect(f.check('a', 2_500)).toEqual({ ok: true });
    expect(f.fail('a', 3_000)).toBe(3);
    expect(f.check('a', 3_000)).toEqual({ ok: false, retryInMs: 58_000, failures: 3 });
    expect(f.check('b', 3_000)).toEqual({ ok: true });
    expect(f.check('a', 60_999)).toEqual({ ok: false, retryInMs: 1, failures: 3 });
    expect(f.check('a', 61_000)).toEqual({ ok: true });
    // A new window starts at the next failure.
    expect(f.fail('a', 61_000)).toBe(1);
  });

  it('failures spread over windows never block', () => {
    const f = new FailedLogins({ maxFailures: 3, windowMs: 1_000 });
    for (let t = 0; t < 10_000; t += 600) {
      f.fail('a', t);
      expect(f.check('a', t).ok).toBe(true);
    }
  });

  it('tracks a bounded number of addresses, dropping expired then oldest windows', () => {
    const f = new FailedLogins({ maxFailures: 1, windowMs: 1_000, maxAddresses: 3 });
    f.fail('a', 0);
    f.fail('b', 10);
    f.fail('c', 20);
    f.fail('d', 30); // full, nothing expired: the oldest (a) goes
    expect(f.size).toBe(3);
    expect(f.check('a', 40).ok).toBe(true);
    expect(f.check('b', 40).ok).toBe(false);
    f.fail('e', 2_000); // all expired: room without dropping live windows
    expect(f.size).toBe(1);
  });

  it('a clock that went back does not block forever', () => {
    const f = new FailedLogins({ maxFailures: 1, windowMs: 60_000 });
    f.fail('a', 100_000);
    expect(f.check('a', 100_001).ok).toBe(false);
    expect(f.check('a', 50_000).ok).toBe(true);
  });
});

describe('RepeatAggregator', () => {
  const ev = (key: string, sample?: string): RepeatEvent => ({
    key,
    type: 'auth.failed',
    actor: 'unauthenticated',
    details: { remote: key },
    ...(sample !== undefined ? { sample } : {}),
  });

  it('reports the first event of a window, counts the rest, and summarises them when the window closes', () => {
    const r = new RepeatAggregator({ windowMs: 1_000 });
    expect(r.observe(ev('a', 'x'), 0)).toBe(true);
    for (let i = 1; i <= 90; i++) expect(r.observe(ev('a', i % 2 ? 'y' : 'x'), i * 10)).toBe(false);
    expect(r.observe(ev('b'), 500)).toBe(true);
    expect(r.due(999)).toEqual([]);
    const due = r.due(1_000);
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ key: 'a', repeats: 90, firstAt: 0, lastAt: 900, samples: ['x', 'y'] });
    // b had no repeats: its window closes without a summary.
    expect(r.due(1_500)).toEqual([]);
    expect(r.size).toBe(0);
    // After the window, the next one is reported again.
    expect(r.observe(ev('a'), 1_600)).toBe(true);
  });

  it('drain summarises every open window (shutdown)', () => {
    const r = new RepeatAggregator({ windowMs: 60_000 });
    r.observe(ev('a'), 0);
    r.observe(ev('a'), 1);
    r.observe(ev('a'), 2);
    r.observe(ev('b'), 3);
    expect(r.drain()).toMatchObject([{ key: 'a', repeats: 2 }]);
    expect(r.size).toBe(0);
  });

  it('an event after its window closed but before due() closes the old window first', () => {
    const r = new RepeatAggregator({ windowMs: 100 });
    r.observe(ev('a'), 0);
    r.observe(ev('a'), 50);
    expect(r.observe(ev('a'), 150)).toBe(true);
    expect(r.due(160)).toMatchObject([{ key: 'a', repeats: 1, lastAt: 50 }]);
  });

  it('bounds memory: keys beyond maxKeys close the oldest window early; samples are capped', () => {
    const r = new RepeatAggregator({ windowMs: 60_000, maxKeys: 2, maxSamples: 2 });
    r.observe(ev('a', 's0'), 0);
    for (let i = 1; i <= 5; i++) r.observe(ev('a', `s${i}`), i);
    r.observe(ev('b'), 10);
    r.observe(ev('c'), 20);
    expect(r.size).toBe(2);
    expect(r.due(30)).toMatchObject([{ key: 'a', repeats: 5, samples: ['s0', 's1'], moreSamples: 4 }]);
  });
});

describe('KnownAddresses', () => {
  it('keeps the most recently used addresses up to its capacity', () => {
    const k = new KnownAddresses(2);
    k.add('a');
    k.add('b');
    k.add('a');
    k.add('c');
    expect([k.has('a'), k.has('b'), k.has('c')]).toEqual([true, false, true]);
  });
});

describe('admission settings', () => {
  it('have defaults, come from the environment and the flags, and are validated', async () => {
    expect(loadConfig({})).toMatchObject({
      unknownPeerHelloTimeoutMs: 3_000,
      maxUnauthenticated: 256,
      maxUnauthenticatedPerAddress: 16,
      maxConnectionsPerAddress: 256,
      bankLoginMaxFailures: 20,
      bankLoginWindowMs: 60_000,
      refusalAuditWindowMs: 60_000,
    });
    const env = {
      FINSECURE_UNKNOWN_PEER_HELLO_TIMEOUT_MS: '500',
      FINSECURE_MAX_UNAUTHENTICATED: '100',
      FINSECURE_MAX_UNAUTHENTICATED_PER_ADDRESS: '4',
      FINSECURE_MAX_CONNECTIONS_PER_ADDRESS: '8',
      FINSECURE_BANK_LOGIN_MAX_FAILURES: '5',
      FINSECURE_BANK_LOGIN_WINDOW_MS: '30000',
      FINSECURE_REFUSAL_AUDIT_WINDOW_MS: '10000',
    };
    expect(loadConfig({ env })).toMatchObject({
      unknownPeerHelloTimeoutMs: 500,
      maxUnauthenticated: 100,
      maxUnauthenticatedPerAddress: 4,
      maxConnectionsPerAddress: 8,
      bankLoginMaxFailures: 5,
      bankLoginWindowMs: 30_000,
      refusalAuditWindowMs: 10_000,
    });
    expect(() => loadConfig({ env: { FINSECURE_MAX_UNAUTHENTICATED_PER_ADDRESS: '300' } })).toThrow(
      /maxUnauthenticatedPerAddress: maxUnauthenticatedPerAddress must be at most maxUnauthenticated/,
    );
    expect(() => loadConfig({ flags: { maxConnectionsPerAddress: 8 } })).toThrow(
      /maxUnauthenticatedPerAddress must be at most maxConnectionsPerAddress/,
    );
    expect(() => loadConfig({ env: { FINSECURE_BANK_LOGIN_WINDOW_MS: '10' } })).toThrow(/bankLoginWindowMs/);
    let parsed: ParsedFlags | undefined;
    await buildCommand(async (p) => {
      parsed = p;
    }).parseAsync(
      [
        ...['--unknown-peer-hello-timeout', '400', '--max-unauthenticated', '64'],
        ...['--max-unauthenticated-per-address', '2', '--max-connections-per-address', '4'],
        ...['--bank-login-max-failures', '3', '--bank-login-window', '5000', '--refusal-audit-window', '2000'],
      ],
      { from: 'user' },
    );
    expect(parsed?.flags).toMatchObject({
      unknownPeerHelloTimeoutMs: 400,
      maxUnauthenticated: 64,
      maxUnauthenticatedPerAddress: 2,
      maxConnectionsPerAddress: 4,
      bankLoginMaxFailures: 3,
      bankLoginWindowMs: 5_000,
      refusalAuditWindowMs: 2_000,
    });
    const cmd = buildCommand(async () => {}).exitOverride();
    cmd.configureOutput({ writeErr: () => {} });
    await expect(cmd.parseAsync(['--max-unauthenticated-per-address', '0'], { from: 'user' })).rejects.toThrow(
      /--max-unauthenticated-per-address must be an integer in 1\.\.100000, got "0"/,
    );
  });
});
