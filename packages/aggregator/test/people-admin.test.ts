/**
 * Administration of people through the API: an admin (signed in with password and TOTP)
 * creates accounts, changes a role, ends someone's sessions, disables and resets; each
 * is an audit entry naming the admin and the person. Another role cannot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Browser, GOOD_PASSWORD, startPeopleServer, totpAt, type PeopleServer } from './helpers/people.js';

let server: PeopleServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function signedInAdmin(s: PeopleServer): Promise<Browser> {
  await s.accounts.createAccount({ username: 'root', role: 'admin', password: GOOD_PASSWORD }, 'test');
  const b = new Browser(s.url);
  await b.login('root', GOOD_PASSWORD);
  const { secret } = (await b.request<{ secret: string }>('POST', '/api/me/mfa/enrol')).body;
  await b.request('POST', '/api/me/mfa/confirm', { code: await totpAt(secret, s.clock.now) });
  return b;
}

describe('people administration', () => {
  it('creates, changes the role of, ends the sessions of and disables a person, audited by name', async () => {
    server = await startPeopleServer();
    const s = server;
    const admin = await signedInAdmin(s);
    const created = await admin.request<{ account: { id: string }; oneTimePassword: string }>('POST', '/api/users', {
      username: 'bob',
      role: 'viewer',
    });
    expect(created.status).toBe(201);
    const bob = new Browser(s.url);
    await bob.login('bob', created.body.oneTimePassword);
    await bob.request('POST', '/api/me/password', { current: created.body.oneTimePassword, next: GOOD_PASSWORD });
    expect((await bob.request('GET', '/api/probe')).status).toBe(200);
    // Bob is a viewer: no settings, no users.
    expect((await bob.request('POST', '/api/probe', {})).status).toBe(403);
    expect((await bob.request('GET', '/api/users')).status).toBe(403);

    const id = created.body.account.id;
    expect((await admin.request('PATCH', `/api/users/${id}`, { role: 'ml-engineer' })).status).toBe(200);
    expect((await bob.request('POST', '/api/probe', {})).status).toBe(200); // the new role applies at once
    expect((await admin.request<{ ended: number }>('POST', `/api/users/${id}/end-sessions`)).body.ended).toBe(1);
    expect((await bob.request('GET', '/api/probe')).status).toBe(401);
    await bob.login('bob', GOOD_PASSWORD);
    expect((await admin.request('PATCH', `/api/users/${id}`, { disabled: true })).status).toBe(200);
    expect((await bob.request('GET', '/api/probe')).status).toBe(401);
    const disabled = await bob.login('bob', GOOD_PASSWORD);
    expect(disabled.status).toBe(403);
    expect(disabled.body.message).toMatch(/disabled/);
    // An admin cannot lock themselves out.
    const me = (await admin.request<{ id: string; username: string }[]>('GET', '/api/users')).body.find(
      (u) => u.username === 'root',
    )!;
    expect((await admin.request('PATCH', `/api/users/${me.id}`, { disabled: true })).status).toBe(409);

    const audit = await s.audit();
    const by = (type: string) => audit.filter((e) => e.type === type).map((e) => [e.actor, e.details.user ?? null]);
    expect(by('user.created')).toContainEqual(['root', 'bob']);
    expect(by('user.role_changed')).toEqual([['root', 'bob']]);
    expect(by('user.sessions_ended')).toEqual([['root', 'bob']]);
    expect(by('user.disabled')).toEqual([['root', 'bob']]);
    expect(audit.find((e) => e.type === 'user.role_changed')!.details).toMatchObject({
      from: 'viewer',
      to: 'ml-engineer',
    });
    expect(JSON.stringify(audit)).not.toContain(created.body.oneTimePassword);
  });

  it('refuses bad input to account creation with the field named, and audits it', async () => {
    server = await startPeopleServer();
    const admin = await signedInAdmin(server);
    const long = await admin.request('POST', '/api/users', { username: 'x'.repeat(2000), role: 'viewer' });
    expect(long.status).toBe(400);
    const weak = await admin.request('POST', '/api/users', { username: 'eve', role: 'viewer', password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.message).toMatch(/^password: must be at least 12 characters/);
    const control = await admin.request('POST', '/api/users', { username: 'ev\u0007e', role: 'viewer' });
    expect(control.body.message).toMatch(/^username: contains control or invisible characters/);
    expect((await server.audit()).filter((e) => e.type === 'input.refused' && e.actor === 'root')).toHaveLength(2);
  });

  it('lists and ends own sessions; a password change ends the other sessions', async () => {
    server = await startPeopleServer();
    const s = server;
    await s.accounts.createAccount({ username: 'carol', role: 'auditor', password: GOOD_PASSWORD }, 'test');
    const laptop = new Browser(s.url);
    const phone = new Browser(s.url);
    const tablet = new Browser(s.url);
    for (const b of [laptop, phone, tablet]) await b.login('carol', GOOD_PASSWORD);
    const list = await laptop.request<{ handle: string; current: boolean }[]>('GET', '/api/me/sessions');
    expect(list.body).toHaveLength(3);
    expect(list.body.filter((x) => x.current)).toHaveLength(1);
    const other = list.body.find((x) => !x.current)!;
    expect((await laptop.request('DELETE', `/api/me/sessions/${other.handle}`)).status).toBe(200);
    const alive = [
      (await phone.request('GET', '/api/probe')).status,
      (await tablet.request('GET', '/api/probe')).status,
    ];
    expect(alive.sort()).toEqual([200, 401]);
    const next = 'another long passphrase 9';
    expect((await laptop.request('POST', '/api/me/password', { current: GOOD_PASSWORD, next })).status).toBe(200);
    expect((await phone.request('GET', '/api/probe')).status).toBe(401);
    expect((await tablet.request('GET', '/api/probe')).status).toBe(401);
    expect((await laptop.request('GET', '/api/probe')).status).toBe(200);
    expect((await new Browser(s.url).login('carol', next)).status).toBe(200);
    expect(JSON.stringify(await s.audit())).not.toContain(next);
  });
});
