/**
 * Sign-in end to end over real HTTP (127.0.0.1) and a real SQLite file, with an
 * injected clock: password, TOTP computed by otplib, replay, lockout, idle and absolute
 * expiry, logout revocation, CSRF, bad usernames, first-sign-in set-up, and the audit
 * trail (which never contains a password, code or session id).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Browser, GOOD_PASSWORD, startPeopleServer, totpAt, type PeopleServer } from './helpers/people.js';

let server: PeopleServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function withUser(role: 'admin' | 'ml-engineer' | 'auditor' | 'viewer' = 'auditor', username = 'alice') {
  server ??= await startPeopleServer();
  await server.accounts.createAccount({ username, role, password: GOOD_PASSWORD }, 'test');
  return server;
}

async function enrolTotp(s: PeopleServer, b: Browser): Promise<{ secret: string; recovery: string[] }> {
  const start = await b.request<{ secret: string; qrDataUrl: string; uri: string }>('POST', '/api/me/mfa/enrol');
  expect(start.status).toBe(200);
  expect(start.body.qrDataUrl).toMatch(/^data:image\/png;base64,/);
  expect(start.body.uri).toMatch(/^otpauth:\/\/totp\//);
  const code = await totpAt(start.body.secret, s.clock.now);
  const done = await b.request<{ recoveryCodes: string[] }>('POST', '/api/me/mfa/confirm', { code });
  expect(done.status).toBe(200);
  expect(done.body.recoveryCodes).toHaveLength(10);
  return { secret: start.body.secret, recovery: done.body.recoveryCodes };
}

describe('sign-in', () => {
  it('logs in with a password into an HttpOnly SameSite=Strict session and names the person', async () => {
    const s = await withUser();
    const b = new Browser(s.url);
    const res = await b.login('alice', GOOD_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.stage).toBe('active');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('fs_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);
    const me = await b.request<{ role: string; username: string; permissions: string[] }>('GET', '/api/whoami');
    expect(me.body).toMatchObject({ role: 'auditor', username: 'alice' });
    expect((await b.request('GET', '/api/probe')).body).toEqual({ who: 'alice' });
    // The session id is stored hashed: the cookie value is nowhere in the database.
    const sid = b.cookies.get('fs_session')!;
    const [stored] = await s.store.accounts.listSessionsOf((await s.store.accounts.getAccountByUsername('alice'))!.id);
    expect(stored!.idHash).not.toBe(sid);
    const audit = await s.audit();
    expect(audit.find((e) => e.type === 'auth.login')).toMatchObject({ actor: 'alice' });
    const text = JSON.stringify(audit);
    expect(text).not.toContain(GOOD_PASSWORD);
    expect(text).not.toContain(sid);
  });

  it('under TLS names its cookies __Host- and marks them Secure; the session works and logs out by them', async () => {
    server = await startPeopleServer({ secure: true });
    await server.accounts.createAccount({ username: 'alice', role: 'auditor', password: GOOD_PASSWORD }, 'test');
    const b = new Browser(server.url);
    const res = await b.login('alice', GOOD_PASSWORD);
    expect(res.status).toBe(200);
    const set = res.headers.getSetCookie();
    const session = set.find((c) => c.startsWith('__Host-fs_session='))!;
    const csrf = set.find((c) => c.startsWith('__Host-fs_csrf='))!;
    expect(session).toMatch(/; Secure/i);
    expect(session).toMatch(/HttpOnly/i);
    expect(csrf).toMatch(/; Secure/i);
    expect(csrf).not.toMatch(/HttpOnly/i); // the page's script echoes it in X-CSRF-Token
    for (const c of [session, csrf]) {
      expect(c).toMatch(/Path=\//); // __Host- requires Path=/ and no Domain
      expect(c).not.toMatch(/Domain=/i);
      expect(c).toMatch(/SameSite=Strict/i);
    }
    expect(set.some((c) => c.startsWith('fs_session='))).toBe(false);
    expect((await b.request('GET', '/api/whoami')).body).toMatchObject({ username: 'alice' });
    const headers = { 'x-csrf-token': b.cookies.get('__Host-fs_csrf')! };
    expect((await b.request('POST', '/api/auth/logout', undefined, { headers })).status).toBe(200);
    expect(b.cookies.has('__Host-fs_session')).toBe(false);
    expect((await b.request('GET', '/api/whoami')).status).toBe(401);
    // An ended session sent again (a tab that missed the logout) is cleared by a header a browser
    // accepts for a __Host- cookie: Secure, Path=/.
    const ended = await fetch(`${server.url}/api/whoami`, { headers: { cookie: session.split(';')[0]! } });
    expect(ended.status).toBe(401);
    const cleared = ended.headers.getSetCookie().find((c) => c.startsWith('__Host-fs_session='));
    expect(cleared).toMatch(/; Secure/i);
    expect(cleared).toMatch(/Path=\//);
  });

  it('refuses a wrong password, then locks the account after five failures', async () => {
    const s = await withUser();
    const b = new Browser(s.url);
    for (let i = 0; i < 5; i++) {
      const r = await b.login('alice', 'wrong password number ' + i);
      expect(r.status).toBe(401);
      expect(r.body.message).toBe('wrong username, password or code');
    }
    const locked = await b.login('alice', GOOD_PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.message).toMatch(/locked for 15 more minute/);
    s.clock.now += 15 * 60_000 + 1;
    expect((await b.login('alice', GOOD_PASSWORD)).status).toBe(200);
    const types = (await s.audit()).map((e) => e.type);
    expect(types.filter((t) => t === 'auth.login_failed')).toHaveLength(5);
    expect(types).toContain('auth.locked');
    // Unknown users get the same answer (no user enumeration).
    expect((await b.login('nobody', GOOD_PASSWORD)).body.message).toBe('wrong username, password or code');
  });

  it('requires the TOTP code after the password, refuses a replayed code, accepts a recovery code once', async () => {
    const s = await withUser();
    const b = new Browser(s.url);
    await b.login('alice', GOOD_PASSWORD);
    const { secret, recovery } = await enrolTotp(s, b);
    expect((await s.audit()).some((e) => e.type === 'user.mfa_enrolled' && e.actor === 'alice')).toBe(true);
    await b.request('POST', '/api/auth/logout');

    const first = await b.login('alice', GOOD_PASSWORD);
    expect(first.body.stage).toBe('mfa');
    // Half-signed-in: nothing but the second step.
    expect((await b.request('GET', '/api/probe')).status).toBe(401);
    // The code of the enrolment step was used already: a replay inside its window.
    const replay = await b.request('POST', '/api/auth/mfa', { code: await totpAt(secret, s.clock.now) });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/already used/);
    s.clock.now += 30_000;
    const code = await totpAt(secret, s.clock.now);
    const ok = await b.request('POST', '/api/auth/mfa', { code });
    expect(ok.status).toBe(200);
    expect(ok.body.stage).toBe('active');
    expect((await b.request('GET', '/api/probe')).status).toBe(200);

    // Same code again, from another browser, same 30 s window: refused.
    const other = new Browser(s.url);
    await other.login('alice', GOOD_PASSWORD);
    expect((await other.request('POST', '/api/auth/mfa', { code })).status).toBe(401);
    // A recovery code works once.
    expect((await other.request('POST', '/api/auth/mfa', { code: recovery[0] })).status).toBe(200);
    const third = new Browser(s.url);
    await third.login('alice', GOOD_PASSWORD);
    expect((await third.request('POST', '/api/auth/mfa', { code: recovery[0] })).status).toBe(401);

    const audit = await s.audit();
    expect(audit.some((e) => e.type === 'auth.mfa_replay' && e.actor === 'alice')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(code);
    expect(JSON.stringify(audit)).not.toContain(recovery[0]);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('ends a session after 15 idle minutes and after 8 hours whatever the activity', async () => {
    const s = await withUser();
    const b = new Browser(s.url);
    await b.login('alice', GOOD_PASSWORD);
    s.clock.now += 14 * 60_000;
    // Background polling (GET) does not count as activity...
    expect((await b.request('GET', '/api/probe')).status).toBe(200);
    s.clock.now += 60_000;
    const idle = await b.request('GET', '/api/probe');
    expect(idle.status).toBe(401);
    expect(idle.body.message).toMatch(/idle timeout/);

    await b.login('alice', GOOD_PASSWORD);
    // ...user activity does, up to the absolute lifetime.
    for (let t = 0; t < 8 * 60; t += 10) {
      s.clock.now += 10 * 60_000;
      const r = await b.request('POST', '/api/session/refresh');
      if (t + 10 < 8 * 60) expect(r.status).toBe(200);
      else {
        expect(r.status).toBe(401);
        expect(r.body.message).toMatch(/absolute timeout/);
      }
    }
    expect((await s.audit()).filter((e) => e.type === 'auth.session_expired').map((e) => e.details.reason)).toEqual([
      'idle timeout',
      'absolute timeout',
    ]);
  });

  it('revokes the session server-side at logout: a stolen cookie is refused and audited', async () => {
    const s = await withUser();
    const b = new Browser(s.url);
    await b.login('alice', GOOD_PASSWORD);
    const stolen = new Browser(s.url);
    for (const [k, v] of b.cookies) stolen.cookies.set(k, v);
    expect((await stolen.request('GET', '/api/probe')).status).toBe(200);
    expect((await b.request('POST', '/api/auth/logout')).status).toBe(200);
    expect(b.cookies.has('fs_session')).toBe(false);
    const replay = await stolen.request('GET', '/api/probe');
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/session has ended/);
    expect((await s.audit()).map((e) => e.type)).toEqual(
      expect.arrayContaining(['auth.logout', 'auth.session_rejected']),
    );
  });

  it('refuses state changes without the CSRF token, or from another origin', async () => {
    const s = await withUser('ml-engineer');
    const b = new Browser(s.url);
    await b.login('alice', GOOD_PASSWORD);
    const none = await b.request('POST', '/api/probe', {}, { csrf: false });
    expect(none.status).toBe(403);
    expect(none.body.message).toMatch(/X-CSRF-Token/);
    const wrong = await b.request('POST', '/api/probe', {}, { csrf: false, headers: { 'x-csrf-token': 'forged' } });
    expect(wrong.status).toBe(403);
    const cross = await b.request('POST', '/api/probe', {}, { headers: { origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    expect((await b.request('POST', '/api/probe', {})).status).toBe(200);
    expect((await s.audit()).filter((e) => e.type === 'auth.csrf_refused')).toHaveLength(2);
  });

  it('refuses over-long and look-alike usernames with a clear message and an audit entry', async () => {
    const s = await withUser('auditor', 'admin');
    const b = new Browser(s.url);
    const cases: [string, RegExp][] = [
      ['a'.repeat(300), /longer than 64/],
      ['\u0430dmin', /non-ASCII/], // Cyrillic a
      ['ad\u200Bmin', /control or invisible/], // zero-width space
      ['admin\u202E', /control or invisible/], // right-to-left override
      ['ad min', /a-z, 0-9/],
    ];
    for (const [name, message] of cases) {
      const r = await b.login(name, GOOD_PASSWORD);
      expect(r.status, name).toBe(400);
      expect(r.body.message).toMatch(message);
    }
    // Full-width letters are the same name after NFKC: this is simply "admin".
    expect((await b.login('ＡＤＭＩＮ', GOOD_PASSWORD)).status).toBe(200);
    const refused = (await s.audit()).filter((e) => e.type === 'auth.login_refused');
    expect(refused).toHaveLength(cases.length);
    // Over-long passwords are refused by the schema before any hashing.
    expect((await b.login('admin', 'x'.repeat(5000))).status).toBe(400);
    // Creating an account with a look-alike name is refused and audited too.
    await expect(
      s.accounts.createAccount({ username: 'аdmin', role: 'viewer', password: GOOD_PASSWORD }, 'test'),
    ).rejects.toThrow(/non-ASCII/);
    expect((await s.audit()).some((e) => e.type === 'input.refused')).toBe(true);
  });

  it('makes an admin without MFA and a one-time password set up first', async () => {
    server = await startPeopleServer();
    const s = server;
    const { oneTimePassword } = await s.accounts.createAccount({ username: 'root', role: 'admin' }, 'test');
    const b = new Browser(s.url);
    expect((await b.login('root', oneTimePassword!)).status).toBe(200);
    const me = await b.request<{ setup: string }>('GET', '/api/whoami');
    expect(me.body.setup).toBe('password');
    const blocked = await b.request('GET', '/api/probe');
    expect(blocked.status).toBe(403);
    expect(blocked.body.message).toMatch(/one-time password/);
    const weak = await b.request('POST', '/api/me/password', { current: oneTimePassword, next: 'password1234' });
    expect(weak.status).toBe(400);
    expect(weak.body.message).toMatch(/commonly used/);
    const changed = await b.request('POST', '/api/me/password', { current: oneTimePassword, next: GOOD_PASSWORD });
    expect(changed.status).toBe(200);
    expect((await b.request('GET', '/api/probe')).body.message).toMatch(/two-factor/);
    await enrolTotp(s, b);
    expect((await b.request('GET', '/api/probe')).status).toBe(200);
  });

  it('rate-limits login attempts per client', async () => {
    server = await startPeopleServer({ loginRateLimit: 3 });
    const b = new Browser(server.url);
    for (let i = 0; i < 3; i++) expect((await b.login('x1', 'nope nope nope')).status).toBe(401);
    expect((await b.login('x1', 'nope nope nope')).status).toBe(429);
  });

  it('refuses a sign-in body over 32 KiB before reading it as JSON, whatever the server allows elsewhere', async () => {
    server = await startPeopleServer({ bodyLimit: 8 * 1024 * 1024 });
    const post = (path: string, bytes: number) =>
      fetch(`${server!.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'x'.repeat(bytes) }),
      });
    expect((await post('/api/auth/login', 4096)).status).toBe(401);
    expect((await post('/api/auth/login', 1024 * 1024)).status).toBe(413);
    expect((await post('/api/auth/mfa', 1024 * 1024)).status).toBe(413);
  });

  it('rate-limits an IPv6 client by its /64, as one host holds the whole prefix', async () => {
    server = await startPeopleServer({ loginRateLimit: 3 });
    // Injected: this machine's loopback has one IPv6 address, and the limit is keyed by req.ip.
    const from = (remoteAddress: string) =>
      server!.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress,
        payload: { username: 'x1', password: 'nope nope nope' },
      });
    const host = ['2001:db8:0:1::10', '2001:db8:0:1::11', '2001:db8:0:1:ffff::1', '2001:db8:0:1::12'];
    const statuses = [];
    for (const a of host) statuses.push((await from(a)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await from('2001:db8:0:2::10')).statusCode).toBe(401); // another /64, another client
  });

  it('sends security headers with a content-security policy', async () => {
    server = await startPeopleServer();
    const res = await fetch(`${server.url}/api/probe`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self' ws: wss:"); // the dashboard's live event stream
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
