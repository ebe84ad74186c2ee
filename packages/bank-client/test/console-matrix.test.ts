/**
 * Every console route declares its rule (config.access), and every role gets exactly
 * its permissions from the bank's table (@finsecure/accounts bank-permissions.ts), over
 * real HTTP: a forbidden call is 403 "forbidden", an allowed one is never 401/403. A new
 * route without a rule fails this test (and is refused at run time).
 */
import { BANK_ROLE_PERMISSIONS, BANK_ROLES, bankCan } from '@finsecure/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addPerson,
  cleanup,
  Client,
  startConsole,
  tempDir,
  writeTrainedModel,
  type RunningConsole,
} from './helpers/console.js';

let dir: string;
let c: RunningConsole;
const clients = new Map<string, Client>();

beforeAll(async () => {
  dir = tempDir('finsecure-console-matrix-');
  await writeTrainedModel(dir);
  c = await startConsole(dir, { people: { requireMfaForAdmins: false } });
  for (const role of BANK_ROLES) {
    await addPerson(c, `${role.replace('-', '')}user`, role);
    const cl = new Client(c.url);
    await cl.login(`${role.replace('-', '')}user`);
    clients.set(role, cl);
  }
});
afterAll(async () => {
  await c?.close();
  cleanup(dir);
});

describe('console route × role matrix', () => {
  it('every route declares a rule; every /api route other than sign-in needs a session', () => {
    const rules = c.app.consoleRoutes();
    expect(rules.filter((r) => r.access === undefined)).toEqual([]);
    const publicApi = rules
      .filter((r) => r.url.startsWith('/api/') && r.access === 'public')
      .map((r) => `${r.method} ${r.url}`);
    expect(publicApi.sort()).toEqual(
      [
        'GET /api/health',
        'HEAD /api/health',
        'POST /api/auth/login',
        'POST /api/auth/mfa',
        // Signed in or not, answered 200 (people.ts); tells an anonymous caller only that.
        'GET /api/auth/session',
        'HEAD /api/auth/session',
      ].sort(),
    );
  });

  it('gives analysts, ML engineers and admins exactly their permissions', async () => {
    const rules = c.app
      .consoleRoutes()
      .filter((r) => r.url.startsWith('/api/') && r.access !== 'public' && r.method !== 'HEAD');
    expect(rules.length).toBeGreaterThan(12);
    for (const role of BANK_ROLES) {
      for (const r of rules) {
        if (r.url === '/api/auth/logout') continue; // would end the session the loop uses
        const url = r.url.replace(':id', '1');
        const res = await clients.get(role)!.request(r.method, url, r.method === 'GET' ? undefined : {});
        const allowed = bankCan(role, r.access!);
        expect({
          role,
          route: `${r.method} ${r.url}`,
          forbidden: res.status === 403 && res.body.error === 'forbidden',
        }).toEqual({
          role,
          route: `${r.method} ${r.url}`,
          forbidden: !allowed,
        });
        expect(res.status).not.toBe(401);
      }
    }
    // Each change refused by role is in the audit log once, with its caller; refused reads are not.
    const refusedChanges = BANK_ROLES.flatMap((role) =>
      rules
        .filter((r) => r.method !== 'GET' && r.url !== '/api/auth/logout' && !bankCan(role, r.access!))
        .map((r) => `${role.replace('-', '')}user ${r.method} ${r.url} (${r.access})`),
    );
    expect(refusedChanges.length).toBeGreaterThan(0);
    const audited = c.db
      .listAudit({ limit: 100_000 })
      .filter((e) => e.type === 'auth.forbidden')
      .map((e) => `${e.actor} ${(e.details as { reason: string }).reason}`);
    expect(audited.sort()).toEqual(refusedChanges.sort());
    // The table itself: analysts decide alerts but neither set the threshold nor manage people.
    expect([...BANK_ROLE_PERMISSIONS.analyst].sort()).toEqual([
      'accounts.read',
      'accounts.run',
      'alerts.decide',
      'alerts.read',
      'anonymise',
      'scores.create',
      'self',
      'threshold.read',
    ]);
    expect(BANK_ROLE_PERMISSIONS['ml-engineer'].has('threshold.write')).toBe(true);
    expect(BANK_ROLE_PERMISSIONS['ml-engineer'].has('users.manage')).toBe(false);
    // Safe copies for sharing: analysts and admins only.
    expect(BANK_ROLE_PERMISSIONS['ml-engineer'].has('anonymise')).toBe(false);
    expect(BANK_ROLE_PERMISSIONS.admin.has('anonymise')).toBe(true);
  });

  it('refuses the consortium-only roles at the console', async () => {
    const admin = clients.get('admin')!;
    const r = await admin.post('/api/users', { username: 'olga', role: 'auditor' });
    expect(r.status).toBe(400);
    await expect(c.accounts.createAccount({ username: 'olga', role: 'viewer' }, 'test')).rejects.toThrow(
      'must be one of admin, ml-engineer, analyst',
    );
  });
});
