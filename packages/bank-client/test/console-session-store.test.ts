/**
 * The console's account store (src/console/session-store.ts): a session's last-seen time
 * is written at most once per SESSION_TOUCH_MS, and the idle timeout still ends a session
 * (at most that much early). Real SQLite file, the accounts core with an injected clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '@finsecure/accounts';
import { ConsoleDb } from '../src/console/db.js';
import { consoleAccounts } from '../src/console/server.js';
import { SESSION_TOUCH_MS } from '../src/console/session-store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-session-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IDLE_MS = 15 * 60_000;

describe('console session store', () => {
  it('writes the last-seen time once per resolution step, and the idle timeout still applies', async () => {
    const db = new ConsoleDb(path.join(dir, 'console.sqlite'));
    let now = 1_000_000;
    const accounts = consoleAccounts(db, { now: () => now });
    const { account } = await accounts.createAccount(
      { username: 'ana', role: 'analyst', password: 'a long enough passphrase 1' },
      'test',
    );
    const sid = 'session-cookie-value';
    await db.accounts.createSession({
      idHash: sha256Hex(sid),
      accountId: account.id,
      stage: 'active',
      csrfHash: sha256Hex('csrf'),
      createdAt: now,
      lastSeenAt: now,
      pendingTotpSecret: null,
      userAgent: 'test',
      ip: '127.0.0.1',
    });
    const client = { ip: '127.0.0.1', userAgent: 'test' };
    const stored = async () => (await db.accounts.getSession(sha256Hex(sid)))!.lastSeenAt;

    // Activity within the resolution: nothing written.
    now += SESSION_TOUCH_MS - 1;
    await accounts.authenticateSession(sid, { activity: true, client });
    expect(await stored()).toBe(1_000_000);
    // A step past it: written.
    now += 2;
    await accounts.authenticateSession(sid, { activity: true, client });
    expect(await stored()).toBe(now);
    const written = now;
    // Other changes to the session are never skipped.
    now += 1;
    await db.accounts.updateSession(sha256Hex(sid), { lastSeenAt: now, pendingTotpSecret: 'X' });
    expect((await db.accounts.getSession(sha256Hex(sid)))!.pendingTotpSecret).toBe('X');
    expect(await stored()).toBe(now);
    expect(now - written).toBeLessThan(SESSION_TOUCH_MS);

    // Idle: the session ends once IDLE_MS have passed since the stored time (≤ 5 s early).
    const last = await stored();
    now = last + IDLE_MS - SESSION_TOUCH_MS - 1;
    await accounts.authenticateSession(sid, { activity: false, client });
    now = last + IDLE_MS;
    await expect(accounts.authenticateSession(sid, { activity: true, client })).rejects.toThrow(/idle timeout/);
    expect(await db.accounts.getSession(sha256Hex(sid))).toBeNull();
    db.close();
  });

  it('with a resolution of 0 writes on every request', async () => {
    const db = new ConsoleDb(path.join(dir, 'every.sqlite'), undefined, 0);
    const { account } = await consoleAccounts(db).createAccount(
      { username: 'eve', role: 'analyst', password: 'a long enough passphrase 1' },
      'test',
    );
    await db.accounts.createSession({
      idHash: 'a',
      accountId: account.id,
      stage: 'active',
      csrfHash: 'h',
      createdAt: 1,
      lastSeenAt: 1,
      pendingTotpSecret: null,
      userAgent: '',
      ip: '',
    });
    await db.accounts.getSession('a');
    await db.accounts.updateSession('a', { lastSeenAt: 2 });
    expect((await db.accounts.getSession('a'))!.lastSeenAt).toBe(2);
    db.close();
  });
});
