/**
 * The authorisation matrix: every route Fastify registered (collected by the onRoute
 * hook) declares a permission, and every route × role pair gets exactly what
 * accounts/permissions.ts says, on the real aggregator. A new route without a rule
 * fails here. The callers are named API tokens scoped to each role (the same
 * principals as people of that role), plus no credentials at all.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts, PERMISSIONS, ROLE_PERMISSIONS, ROLES, can, type Role } from '@finsecure/accounts';
import type { RunningAggregator } from '../src/index.js';
import { registerPeople } from '../src/server/plugins/people.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { ADMIN, api, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

let dir: string;
let agg: RunningAggregator;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  dir = tempDir();
  agg = await startTestAggregator(dir);
  for (const role of ROLES) {
    const r = await api<{ token: string }>(agg, 'POST', '/api/tokens', { name: `matrix ${role}`, role }, ADMIN);
    expect(r.status).toBe(201);
    tokens[role] = r.body.token;
  }
});
afterAll(async () => {
  await agg?.close();
  cleanup(dir);
});

/** A concrete URL for a route pattern (params become "1"). */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z]+/g, '1').replace(/\*$/, 'index.html');
}

describe('authorisation matrix', () => {
  it('every registered route declares a known permission', () => {
    const rules = agg.app.routeRules();
    expect(rules.length).toBeGreaterThan(30);
    const missing = rules.filter((r) => r.permission === undefined).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    for (const r of rules) expect(PERMISSIONS).toContain(r.permission);
  });

  it('gives every role exactly its permissions on every route', async () => {
    const rules = agg.app
      .routeRules()
      .filter((r) => !r.url.startsWith('/ws/') && r.method !== 'HEAD' && r.method !== 'OPTIONS');
    const mismatches: string[] = [];
    // Admin last: its requests may change state (start training) that others' do not need.
    for (const role of [...ROLES].reverse()) {
      for (const rule of rules) {
        const res = await fetch(agg.url + concrete(rule.url), {
          method: rule.method,
          headers: { authorization: `Bearer ${tokens[role]}`, 'content-type': 'application/json' },
          ...(rule.method === 'GET' ? {} : { body: '{}' }),
        });
        await res.arrayBuffer();
        const allowed = can(role, rule.permission!);
        const refused = res.status === 401 || res.status === 403;
        if (allowed === refused)
          mismatches.push(`${role} ${rule.method} ${rule.url} (${rule.permission}) → ${res.status}`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 60_000);

  it('refuses every non-public route without credentials', async () => {
    const rules = agg.app.routeRules().filter((r) => !r.url.startsWith('/ws/') && r.method === 'GET');
    for (const rule of rules) {
      const res = await fetch(agg.url + concrete(rule.url));
      await res.arrayBuffer();
      if (rule.permission === 'public') expect(res.status, rule.url).not.toBe(401);
      else expect(res.status, rule.url).toBe(401);
    }
  });

  it('declares the analytics job routes: starting needs training.control, reading rounds.read', () => {
    const rule = (method: string, url: string) =>
      agg.app.routeRules().find((r) => r.method === method && r.url === url)?.permission;
    expect(rule('POST', '/api/jobs/segmentation')).toBe('training.control');
    expect(rule('POST', '/api/jobs/calibration')).toBe('training.control');
    expect(rule('GET', '/api/jobs')).toBe('rounds.read');
    expect(rule('GET', '/api/jobs/:id')).toBe('rounds.read');
  });

  it('matches the consortium roles of the issue', () => {
    const table: [Role, string, boolean][] = [
      ['admin', 'users.manage', true],
      ['admin', 'banks.manage', true],
      ['ml-engineer', 'settings.write', true],
      ['ml-engineer', 'training.control', true],
      ['ml-engineer', 'users.manage', false],
      ['ml-engineer', 'banks.manage', false],
      ['ml-engineer', 'audit.read', false],
      ['auditor', 'audit.read', true],
      ['auditor', 'rounds.read', true],
      ['auditor', 'settings.write', false],
      ['auditor', 'training.control', false],
      ['viewer', 'charts.read', true],
      ['viewer', 'rounds.read', false],
      ['viewer', 'audit.read', false],
      ['viewer', 'settings.read', false],
    ];
    for (const [role, permission, expected] of table) {
      expect(ROLE_PERMISSIONS[role].has(permission as never), `${role} ${permission}`).toBe(expected);
    }
  });

  it('refuses a route that declares no rule, and lists it as undeclared', async () => {
    const store = new SqliteStore(':memory:');
    await store.init();
    const accounts = createAccounts({ store: store.accounts, audit: (e) => store.appendAudit(e), now: Date.now });
    const app = Fastify();
    await registerPeople(app, { accounts, bootstrap: null, secure: false });
    app.get('/api/forgotten', async () => ({ secret: 42 }));
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/api/forgotten' });
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toMatch(/declares no authorisation rule/);
    expect(app.routeRules().find((r) => r.url === '/api/forgotten')!.permission).toBeUndefined();
    await app.close();
    await store.close();
  });

  it('API tokens: shown once, stored hashed, revocable, audited with their name', async () => {
    const created = await api<{ token: string; record: { id: string } }>(
      agg,
      'POST',
      '/api/tokens',
      { name: 'nightly export', role: 'auditor', expiresInDays: 7 },
      ADMIN,
    );
    const list = await api<Record<string, unknown>[]>(agg, 'GET', '/api/tokens', undefined, ADMIN);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect((await api(agg, 'GET', '/api/audit', undefined, created.body.token)).status).toBe(200);
    expect((await api(agg, 'PUT', '/api/config', {}, created.body.token)).status).toBe(403);
    expect((await api(agg, 'DELETE', `/api/tokens/${created.body.record.id}`, undefined, ADMIN)).status).toBe(200);
    expect((await api(agg, 'GET', '/api/audit', undefined, created.body.token)).status).toBe(401);
    const bad = await api<{ message: string }>(
      agg,
      'POST',
      '/api/tokens',
      { name: 'x', role: 'viewer', expiresInDays: 9999 },
      ADMIN,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/expiresInDays/);
    // A bad name is refused under the field the request has (`name`), not a user's `displayName`.
    for (const name of ['a\u0000b', 'x'.repeat(1000)]) {
      const refused = await api<{ message: string }>(agg, 'POST', '/api/tokens', { name, role: 'viewer' }, ADMIN);
      expect(refused.status).toBe(400);
      expect(refused.body.message).toMatch(/^name: (contains control|longer than 100)/);
    }
    const audit = await api<{ type: string; actor: string }[]>(agg, 'GET', '/api/audit?limit=10000', undefined, ADMIN);
    expect(audit.body.some((e) => e.type === 'token.created' && e.actor === 'bootstrap-admin-token')).toBe(true);
    expect(audit.body.some((e) => e.type === 'token.revoked')).toBe(true);
    expect(JSON.stringify(audit.body)).not.toContain(created.body.token);
  });
});
