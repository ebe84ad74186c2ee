/**
 * Changing one's own credentials from a signed-in session, over real HTTP and a real SQLite
 * file with an injected clock: a stolen session alone can neither guess the password without
 * limit (wrong current passwords count towards the lockout) nor move the second factor to
 * another phone (the password is asked for, and the other sessions end when it moves).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Browser, GOOD_PASSWORD, startPeopleServer, totpAt, type PeopleServer } from './helpers/people.js';

let server: PeopleServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function signedIn(): Promise<{ s: PeopleServer; b: Browser }> {
  server = await startPeopleServer();
  await server.accounts.createAccount({ username: 'alice', role: 'auditor', password: GOOD_PASSWORD }, 'test');
  const b = new Browser(server.url);
  expect((await b.login('alice', GOOD_PASSWORD)).status).toBe(200);
  return { s: server, b };
}

/** Enrols (or moves) TOTP from `b`; `body` is what the enrolment is started with. */
async function enrol(s: PeopleServer, b: Browser, body?: unknown) {
  const start = await b.request<{ secret: string }>('POST', '/api/me/mfa/enrol', body);
  expect(start.status).toBe(200);
  s.clock.now += 30_000; // a fresh TOTP window: the last code may not be replayed
  const code = await totpAt(start.body.secret, s.clock.now);
  expect((await b.request('POST', '/api/me/mfa/confirm', { code })).status).toBe(200);
  return start.body.secret;
}

describe('own credentials from a signed-in session', () => {
  it('counts wrong current passwords towards the lockout, then refuses even the right one', async () => {
    const { s, b } = await signedIn();
    for (let i = 0; i < 5; i++) {
      const wrong = await b.request('POST', '/api/me/password', {
        current: `guess number ${i}`,
        next: 'another long one 7',
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body.message).toBe('the current password is wrong');
    }
    const right = await b.request('POST', '/api/me/password', { current: GOOD_PASSWORD, next: 'another long one 7' });
    expect(right.status).toBe(429);
    expect(right.body.error).toBe('locked');
    // The lock is the account's: signing in is refused too, until it lapses.
    expect((await new Browser(s.url).login('alice', GOOD_PASSWORD)).status).toBe(429);
    const types = (await s.audit()).map((e) => e.type);
    expect(types.filter((t) => t === 'user.password_change_failed')).toHaveLength(5);
    expect(types).toContain('auth.locked');
    // After the lock (15 minutes; the idle session has ended meanwhile) the person signs in again.
    s.clock.now += 15 * 60_000 + 1;
    const again = new Browser(s.url);
    expect((await again.login('alice', GOOD_PASSWORD)).status).toBe(200);
    const after = await again.request('POST', '/api/me/password', {
      current: GOOD_PASSWORD,
      next: 'another long one 7',
    });
    expect(after.status).toBe(200);
  });

  it('asks for the password to move a second factor, and ends the other sessions when it moves', async () => {
    const { s, b } = await signedIn();
    await enrol(s, b); // first enrolment: the session is enough
    const other = new Browser(s.url);
    await other.login('alice', GOOD_PASSWORD);
    s.clock.now += 30_000;
    const code = await totpAt((await s.store.accounts.getAccountByUsername('alice'))!.totpSecret!, s.clock.now);
    expect((await other.request('POST', '/api/auth/mfa', { code })).status).toBe(200);

    const bare = await b.request('POST', '/api/me/mfa/enrol');
    expect(bare.status).toBe(401);
    expect(bare.body.error).toBe('password_required');
    const wrong = await b.request('POST', '/api/me/mfa/enrol', { password: 'not my password at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('bad_credentials');
    // Nothing was started: a confirmation has no enrolment to confirm.
    expect((await b.request('POST', '/api/me/mfa/confirm', { code: '123456' })).status).toBe(409);

    const moved = await enrol(s, b, { password: GOOD_PASSWORD });
    expect((await s.store.accounts.getAccountByUsername('alice'))!.totpSecret).toBe(moved);
    expect((await other.request('GET', '/api/probe')).status).toBe(401); // the other session ended
    expect((await b.request('GET', '/api/probe')).status).toBe(200); // this one goes on
    const entry = (await s.audit()).filter((e) => e.type === 'user.mfa_enrolled').at(-1)!;
    expect(entry.details).toEqual({ method: 'totp', replaced: true, otherSessionsEnded: 1 });
    expect((await s.audit()).filter((e) => e.type === 'user.mfa_enrol_failed')).toHaveLength(1);
  });

  it('counts parallel wrong passwords one by one: the sixth is refused without a check', async () => {
    const { s, b } = await signedIn();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        b.request('POST', '/api/me/password', { current: `parallel guess ${i}`, next: 'another long one 7' }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const types = (await s.audit()).map((e) => e.type);
    expect(types.filter((t) => t === 'user.password_change_failed')).toHaveLength(5);
    expect(types.filter((t) => t === 'auth.locked')).toHaveLength(1);
  });

  it('drops an enrolment another session started before the second factor was on', async () => {
    const { s, b } = await signedIn();
    // A second session (a stolen cookie, say) starts an enrolment while there is no second factor.
    const thief = new Browser(s.url);
    await thief.login('alice', GOOD_PASSWORD);
    const started = await thief.request<{ secret: string }>('POST', '/api/me/mfa/enrol');
    expect(started.status).toBe(200);
    // The owner turns it on with their own phone; the thief's waiting enrolment is dropped.
    await enrol(s, b);
    s.clock.now += 30_000;
    const code = await totpAt(started.body.secret, s.clock.now);
    const late = await thief.request('POST', '/api/me/mfa/confirm', { code });
    expect(late.status).toBe(409);
    expect((await s.store.accounts.getAccountByUsername('alice'))!.totpSecret).not.toBe(started.body.secret);
  });
});
