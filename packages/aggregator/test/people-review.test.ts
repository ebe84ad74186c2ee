/**
 * The findings of the accounts/auth security review, over real HTTP (127.0.0.1), a real SQLite file
 * and the injected clock of the people harness (and, for /ws/events, a real aggregator):
 * - an API token never carries more than the person who created it now has: refused while they are
 *   disabled or hold less than its role, revoked when they are disabled, unable to act on its own
 *   creator, and audited with its creator (`details.by`); tokens of the bootstrap credential work on;
 * - rejected session cookies are audited once per address and window, the repeats counted;
 * - a username that is no account is kept in the audit log only as its length and a keyed tag;
 * - a session waiting for its second factor can log out;
 * - a change a caller's role does not allow is audited (`auth.forbidden`), coalesced per caller,
 *   address and route; a read refused by role is not.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generate } from 'otplib';
import { BOOT_ADMIN, Browser, GOOD_PASSWORD, startPeopleServer, totpAt, type PeopleServer } from './helpers/people.js';
import { api, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

let server: PeopleServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** GET or send with a bearer token (helpers/federation.ts api). */
const bearer = (s: PeopleServer, token: string, method: string, p: string, body?: unknown) =>
  api<Record<string, unknown>>(s, method, p, body, token);

/** An admin signed in (MFA not required in this harness) and the id of their account. */
async function admin(s: PeopleServer, username: string): Promise<{ b: Browser; id: string }> {
  const { account } = await s.accounts.createAccount({ username, role: 'admin', password: GOOD_PASSWORD }, 'test');
  const b = new Browser(s.url);
  expect((await b.login(username, GOOD_PASSWORD)).status).toBe(200);
  return { b, id: account.id };
}

async function newToken(b: Browser, name: string, role: string): Promise<{ token: string; id: string }> {
  const r = await b.request<{ token: string; record: { id: string } }>('POST', '/api/tokens', { name, role });
  expect(r.status).toBe(201);
  return { token: r.body.token, id: r.body.record.id };
}

describe('API tokens answer to their creator', () => {
  it('refuses and revokes the tokens of a disabled person, who cannot be re-enabled with them', async () => {
    server = await startPeopleServer({ requireMfaForAdmins: false });
    const s = server;
    const root = await admin(s, 'root');
    const ada = await admin(s, 'ada');
    const t = await newToken(ada.b, 'ada automation', 'admin');
    expect((await bearer(s, t.token, 'GET', '/api/users')).status).toBe(200);

    expect((await root.b.request('PATCH', `/api/users/${ada.id}`, { disabled: true })).status).toBe(200);
    expect((await bearer(s, t.token, 'GET', '/api/users')).status).toBe(401);
    // The token cannot give its creator back their rights.
    expect((await bearer(s, t.token, 'PATCH', `/api/users/${ada.id}`, { disabled: false })).status).toBe(401);
    const disabled = (await s.audit()).find((e) => e.type === 'user.disabled')!;
    expect(disabled.details).toMatchObject({ user: 'ada', tokensRevoked: [t.id], sessionsEnded: 1 });
    const listed = (await root.b.request<{ id: string; revokedAt: number | null }[]>('GET', '/api/tokens')).body;
    expect(listed.find((x) => x.id === t.id)!.revokedAt).not.toBeNull();
    // Enabling the person again does not bring the token back.
    expect((await root.b.request('PATCH', `/api/users/${ada.id}`, { disabled: false })).status).toBe(200);
    expect((await bearer(s, t.token, 'GET', '/api/users')).status).toBe(401);
  });

  it('never lets a token carry more than its creator now holds, and revokes those a demotion exceeds', async () => {
    server = await startPeopleServer({ requireMfaForAdmins: false });
    const s = server;
    const root = await admin(s, 'root');
    const ada = await admin(s, 'ada');
    const adminToken = await newToken(ada.b, 'ada admin', 'admin');
    const auditorToken = await newToken(ada.b, 'ada auditor', 'auditor');
    const viewerToken = await newToken(ada.b, 'ada viewer', 'viewer');

    // A role changed behind the API's back (the store itself): every use looks the creator up.
    await s.store.accounts.updateAccount(ada.id, { role: 'ml-engineer' });
    expect((await bearer(s, adminToken.token, 'GET', '/api/users')).status).toBe(401);
    expect((await bearer(s, auditorToken.token, 'GET', '/api/probe')).status).toBe(401); // audit.read: not an ML engineer's
    expect((await bearer(s, viewerToken.token, 'GET', '/api/probe')).status).toBe(200);
    await s.store.accounts.updateAccount(ada.id, { disabledAt: s.clock.now });
    expect((await bearer(s, viewerToken.token, 'GET', '/api/probe')).status).toBe(401);
    await s.store.accounts.updateAccount(ada.id, { role: 'admin', disabledAt: null });
    expect((await bearer(s, adminToken.token, 'GET', '/api/users')).status).toBe(200);

    // Demoted through the API: the tokens the new role does not cover are revoked, and the entry says which.
    expect((await root.b.request('PATCH', `/api/users/${ada.id}`, { role: 'auditor' })).status).toBe(200);
    const changed = (await s.audit()).find((e) => e.type === 'user.role_changed')!;
    expect(changed.details).toMatchObject({
      user: 'ada',
      from: 'admin',
      to: 'auditor',
      tokensRevoked: [adminToken.id],
    });
    expect((await bearer(s, adminToken.token, 'GET', '/api/users')).status).toBe(401);
    expect((await bearer(s, auditorToken.token, 'GET', '/api/probe')).status).toBe(200);
    expect((await bearer(s, viewerToken.token, 'GET', '/api/probe')).status).toBe(200);
    // Promoted again: a revoked token stays revoked.
    expect((await root.b.request('PATCH', `/api/users/${ada.id}`, { role: 'admin' })).status).toBe(200);
    expect((await bearer(s, adminToken.token, 'GET', '/api/users')).status).toBe(401);
  });

  it("cannot disable or re-role its own creator, answers to its creator's creator, and is audited with them", async () => {
    server = await startPeopleServer({ requireMfaForAdmins: false });
    const s = server;
    await admin(s, 'root');
    const ada = await admin(s, 'ada');
    const t = await newToken(ada.b, 'ada ops', 'admin');
    const self = await bearer(s, t.token, 'PATCH', `/api/users/${ada.id}`, { disabled: true });
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('self');
    expect((await bearer(s, t.token, 'PATCH', `/api/users/${ada.id}`, { role: 'viewer' })).status).toBe(409);

    // A token made by a token answers to the same person.
    const made = await bearer(s, t.token, 'POST', '/api/tokens', { name: 'made by a token', role: 'auditor' });
    expect(made.status).toBe(201);
    const child = made.body as { token: string; record: { id: string; createdBy: string } };
    expect(child.record.createdBy).toBe(ada.id);
    // The new user is created by the token on ada's behalf: every entry of the action names her.
    const bob = await bearer(s, t.token, 'POST', '/api/users', { username: 'bob', role: 'viewer' });
    expect(bob.status).toBe(201);
    const audit = await s.audit();
    const created = audit.find((e) => e.type === 'token.created' && e.details.token === child.record.id)!;
    expect([created.actor, created.details.by]).toEqual(['token:ada ops', 'ada']);
    const user = audit.find((e) => e.type === 'user.created' && e.details.user === 'bob')!;
    expect([user.actor, user.details.by]).toEqual(['token:ada ops', 'ada']);
    const actions = audit.filter((e) => e.type === 'api.action' && e.actor === 'token:ada ops');
    expect(actions.map((e) => [e.details.route, e.details.by])).toEqual([
      ['POST /api/tokens', 'ada'],
      ['POST /api/users', 'ada'],
    ]);
    // A session's action names no one else.
    expect(audit.filter((e) => e.type === 'api.action' && e.actor === 'ada').every((e) => !('by' in e.details))).toBe(
      true,
    );

    const root = new Browser(s.url);
    await root.login('root', GOOD_PASSWORD);
    expect((await root.request('PATCH', `/api/users/${ada.id}`, { disabled: true })).status).toBe(200);
    expect((await bearer(s, child.token, 'GET', '/api/probe')).status).toBe(401);
  });

  it("keeps tokens made with the bootstrap admin token working, within that credential's role", async () => {
    server = await startPeopleServer({ requireMfaForAdmins: false });
    const s = server;
    const made = await bearer(s, BOOT_ADMIN, 'POST', '/api/tokens', { name: 'compose', role: 'admin' });
    expect(made.status).toBe(201);
    const t = made.body as { token: string; record: { createdBy: string } };
    expect(t.record.createdBy).toBe('bootstrap-admin-token');
    expect((await bearer(s, t.token, 'GET', '/api/users')).status).toBe(200);
    const again = await bearer(s, t.token, 'POST', '/api/tokens', { name: 'compose 2', role: 'viewer' });
    expect((again.body as { record: { createdBy: string } }).record.createdBy).toBe('bootstrap-admin-token');
    const action = (await s.audit()).find((e) => e.type === 'api.action' && e.actor === 'token:compose')!;
    expect(action.details.by).toBe('bootstrap-admin-token');
  });
});

describe('rejected session cookies', () => {
  it('are one entry per address and window, the repeats counted into one summary', async () => {
    server = await startPeopleServer();
    const s = server;
    const junk = () => new Browser(s.url);
    for (let batch = 0; batch < 15; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => {
          const b = junk();
          b.cookies.set('fs_session', randomBytes(32).toString('base64url'));
          return b.request('GET', '/api/probe');
        }),
      );
      expect(answers.every((r) => r.status === 401)).toBe(true);
    }
    const rejected = async () => (await s.audit()).filter((e) => e.type === 'auth.session_rejected');
    const first = await rejected();
    expect(first).toHaveLength(1);
    expect(first[0]!.details).toEqual({ ip: '127.0.0.1', reason: 'unknown or ended session' });

    // The window closes: the next rejection writes the summary, then opens a new window.
    s.clock.now += 60_001;
    const b = junk();
    b.cookies.set('fs_session', 'another-junk-cookie');
    expect((await b.request('GET', '/api/probe')).status).toBe(401);
    const after = await rejected();
    expect(after).toHaveLength(3);
    expect(after[1]!.details).toMatchObject({ ip: '127.0.0.1', repeats: 299, windowMs: 60_000 });
    expect(after[2]!.details).toEqual({ ip: '127.0.0.1', reason: 'unknown or ended session' });
    // Repeats still counting at shutdown are summarised as the server closes.
    for (let i = 0; i < 2; i++) {
      b.cookies.set('fs_session', `junk ${i}`); // the 401 cleared it
      expect((await b.request('GET', '/api/probe')).status).toBe(401);
    }
    await s.app.close();
    const closed = await rejected();
    expect(closed).toHaveLength(4);
    expect(closed[3]!.details).toMatchObject({ ip: '127.0.0.1', repeats: 2 });
  });

  it('on /ws/events too', async () => {
    const dir = tempDir('finsecure-review-ws-');
    const agg = await startTestAggregator(path.join(dir, 'agg'));
    try {
      const count = async () =>
        (await api<{ type: string }[]>(agg, 'GET', '/api/audit?limit=10000')).body.filter(
          (e) => e.type === 'auth.session_rejected',
        ).length;
      for (let i = 0; i < 40; i++) {
        const ws = new WebSocket(agg.url.replace(/^http/, 'ws') + '/ws/events', {
          headers: { cookie: `fs_session=${randomBytes(32).toString('base64url')}` },
        });
        const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
        ws.on('open', () => ws.send('{}'));
        ws.on('error', () => {});
        expect(await closed).toBe(4001);
      }
      expect(await count()).toBe(1);
    } finally {
      await agg.close();
      cleanup(dir);
    }
  });
});

describe('usernames that are no account', () => {
  it('are audited as a length and a keyed tag, never as typed; accounts keep their names', async () => {
    server = await startPeopleServer();
    const s = server;
    await s.accounts.createAccount({ username: 'alice', role: 'auditor', password: GOOD_PASSWORD }, 'test');
    const b = new Browser(s.url);
    // A password typed into the username field (valid as a name, and not one), twice.
    expect((await b.login('hunter2hunter2', 'whatever it is')).status).toBe(401);
    expect((await b.login('hunter2hunter2', 'whatever it is')).status).toBe(401);
    // Not even a valid name.
    expect((await b.login('My Secret Pass!', 'whatever it is')).status).toBe(400);
    expect((await b.login('alice', 'not her password')).status).toBe(401);
    const audit = await s.audit();
    const text = JSON.stringify(audit);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('Secret');
    const failed = audit.filter((e) => e.type === 'auth.login_failed');
    expect(failed.map((e) => e.actor)).toEqual([
      expect.stringMatching(/^unknown-user:14:[0-9a-f]{12}$/),
      failed[0]!.actor, // the same name, the same tag: repeats still show
      'alice',
    ]);
    const refused = audit.find((e) => e.type === 'auth.login_refused')!;
    expect(refused.details.username).toMatch(/^unknown-user:15:[0-9a-f]{12}$/);
  });
});

describe('a session waiting for its second factor', () => {
  it('can log out (with its CSRF token), which ends the pending sign-in', async () => {
    server = await startPeopleServer();
    const s = server;
    await s.accounts.createAccount({ username: 'alice', role: 'auditor', password: GOOD_PASSWORD }, 'test');
    const setup = new Browser(s.url);
    await setup.login('alice', GOOD_PASSWORD);
    const { secret } = (await setup.request<{ secret: string }>('POST', '/api/me/mfa/enrol')).body;
    expect(
      (await setup.request('POST', '/api/me/mfa/confirm', { code: await totpAt(secret, s.clock.now) })).status,
    ).toBe(200);

    const b = new Browser(s.url);
    expect((await b.login('alice', GOOD_PASSWORD)).body.stage).toBe('mfa');
    expect((await b.request('GET', '/api/probe')).status).toBe(401); // still nothing else
    const forged = await b.request('POST', '/api/auth/logout', undefined, { csrf: false });
    expect(forged.status).toBe(403);
    const out = await b.request('POST', '/api/auth/logout');
    expect(out.status).toBe(200);
    expect(b.cookies.has('fs_session')).toBe(false);
    // The pending session is gone server-side: a code sent with the old cookie finds nothing.
    const stale = new Browser(s.url);
    const again = await stale.login('alice', GOOD_PASSWORD);
    expect(again.body.stage).toBe('mfa');
    const pendingCookie = stale.cookies.get('fs_session')!;
    expect((await stale.request('POST', '/api/auth/logout')).status).toBe(200);
    stale.cookies.set('fs_session', pendingCookie);
    s.clock.now += 30_000;
    const code = await generate({ secret, epoch: Math.floor(s.clock.now / 1000) });
    expect((await stale.request('POST', '/api/auth/mfa', { code })).status).toBe(401);
    expect((await s.audit()).filter((e) => e.type === 'auth.logout' && e.actor === 'alice')).toHaveLength(2);
  });
});

describe('changes refused by role', () => {
  it('are audited once per caller, address and route and window, the repeats summarised at close', async () => {
    server = await startPeopleServer({ requireMfaForAdmins: false });
    const s = server;
    await s.accounts.createAccount({ username: 'vera', role: 'viewer', password: GOOD_PASSWORD }, 'test');
    const vera = new Browser(s.url);
    expect((await vera.login('vera', GOOD_PASSWORD)).status).toBe(200);
    const forbidden = async () => (await s.audit()).filter((e) => e.type === 'auth.forbidden');

    // A read refused by role (a viewer's page asks for panels it does not show) is not audited.
    expect((await vera.request('GET', '/api/users')).status).toBe(403);
    expect(await forbidden()).toHaveLength(0);

    for (let i = 0; i < 3; i++) {
      const r = await vera.request('POST', '/api/users', { username: `x${i}`, role: 'admin' });
      expect(r.status).toBe(403);
    }
    const first = await forbidden();
    expect(first).toHaveLength(1);
    expect(first[0]!.actor).toBe('vera');
    expect(first[0]!.details).toEqual({ ip: '127.0.0.1', reason: 'POST /api/users (users.manage)' });

    // Another route is its own window: written at once.
    expect((await vera.request('POST', '/api/tokens', { name: 't', role: 'admin' })).status).toBe(403);
    expect(await forbidden()).toHaveLength(2);

    await s.app.close();
    const closed = await forbidden();
    expect(closed).toHaveLength(3);
    expect(closed[2]!.actor).toBe('vera');
    expect(closed[2]!.details).toMatchObject({ ip: '127.0.0.1', reason: 'POST /api/users (users.manage)', repeats: 2 });
  });
});
