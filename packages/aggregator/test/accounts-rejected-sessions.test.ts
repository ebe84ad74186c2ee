/**
 * The coalesced audit of rejected session cookies (accounts/src/rejected-sessions.ts), with an
 * injected clock and timers: one entry per address and window, and a bound on the entries a window
 * can hold whatever the number of addresses a client controls.
 */
import { describe, expect, it } from 'vitest';
import { RejectedSessionLog, type Timers } from '@finsecure/accounts';

function setup(maxKeys?: number) {
  let now = 0;
  const entries: Record<string, unknown>[] = [];
  const timers: Timers = { setTimeout: () => null, clearTimeout: () => {} };
  const log = new RejectedSessionLog({
    audit: async (e) => void entries.push(e.details),
    now: () => now,
    windowMs: 60_000,
    timers,
    ...(maxKeys !== undefined ? { maxKeys } : {}),
  });
  return { log, entries, tick: (ms: number) => (now += ms) };
}

describe('RejectedSessionLog', () => {
  it('writes the first rejection of an address at once and counts the rest into one summary', async () => {
    const { log, entries, tick } = setup();
    for (let i = 0; i < 300; i++) await log.record('192.0.2.7', 'unknown session');
    expect(entries).toEqual([{ ip: '192.0.2.7', reason: 'unknown session' }]);
    tick(60_000);
    await log.record('192.0.2.7', 'unknown session');
    expect(entries[1]).toMatchObject({ ip: '192.0.2.7', repeats: 299, windowMs: 60_000 });
    expect(entries).toHaveLength(3);
  });

  it('a client with a whole IPv6 /48 writes at most 2·(16 + 1) entries a window, not one per /64', async () => {
    const { log, entries, tick } = setup();
    for (let i = 0; i < 5_000; i++) await log.record(`2001:db8:0:${i.toString(16)}::1`, 'unknown session');
    expect(entries).toHaveLength(17); // 16 addresses, then the overflow's first
    expect(entries[16]).toEqual({ ip: 'other addresses', reason: 'unknown session' });
    tick(60_000);
    await log.drain();
    expect(entries.length).toBeLessThanOrEqual(2 * 17);
    expect(entries.at(-1)).toMatchObject({ ip: 'other addresses', repeats: 5_000 - 17, addresses: 5_000 - 16 });
  });

  it("names in the overflow's summary who tried what: the first 32 (caller, reason) pairs, with counts", async () => {
    const { log, entries, tick } = setup();
    // Sixteen windows open (one caller, sixteen routes), then more routes and another caller.
    for (let i = 0; i < 16; i++) await log.record('192.0.2.7', `POST /api/route-${i}`, 'token:t-viewer');
    await log.record('192.0.2.7', 'DELETE /api/tokens/:id', 'token:t-viewer');
    await log.record('192.0.2.7', 'DELETE /api/tokens/:id', 'token:t-viewer');
    await log.record('192.0.2.7', 'POST /api/models/:version/rollback', 'token:t-viewer');
    await log.record('198.51.100.4', 'PATCH /api/users/:id', 'mallory');
    for (let i = 0; i < 100; i++) await log.record('198.51.100.4', `POST /api/junk-${i}`, 'mallory');
    tick(60_000);
    await log.drain();
    const summary = entries.find((e) => e.ip === 'other addresses' && e.repeats !== undefined)!;
    expect(summary.actors).toBe(2);
    const named = summary.named as { actor: string; reason: string; count: number }[];
    expect(named).toHaveLength(32);
    expect(named.slice(0, 3)).toEqual([
      { actor: 'token:t-viewer', reason: 'DELETE /api/tokens/:id', count: 2 },
      { actor: 'token:t-viewer', reason: 'POST /api/models/:version/rollback', count: 1 },
      { actor: 'mallory', reason: 'PATCH /api/users/:id', count: 1 },
    ]);
  });
});
