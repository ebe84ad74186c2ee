/**
 * Test harness for the people module: a real Fastify server on 127.0.0.1 with only the
 * people plugins plus two declared probe routes, over a real SQLite file, driven by a
 * manual clock; and a small cookie-keeping HTTP client (what a browser does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { generate } from 'otplib';
import { createAccounts, type Accounts, type AccountsOptions } from '@finsecure/accounts';
import { ApiAuth } from '../../src/auth/tokens.js';
import { registerPeople } from '../../src/server/plugins/people.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AuditEntry } from '../../src/store/types.js';

export const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
export const BOOT_ADMIN = 'people-admin-token-0123456789';

export interface PeopleServer {
  app: FastifyInstance;
  url: string;
  store: SqliteStore;
  accounts: Accounts;
  clock: { now: number };
  audit(): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

export async function startPeopleServer(
  over: Partial<Pick<AccountsOptions, 'requireMfaForAdmins' | 'lockout' | 'session'>> & {
    loginRateLimit?: number;
    /** Cookies as under TLS (Secure, __Host- names); the test server still speaks plain HTTP. */
    secure?: boolean;
    /** The server's own body limit (default 64 KiB). */
    bodyLimit?: number;
  } = {},
): Promise<PeopleServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-people-'));
  const store = new SqliteStore(path.join(dir, 'people.db'));
  await store.init();
  const clock = { now: T0 };
  const accounts = createAccounts({
    store: store.accounts,
    audit: (e) => store.appendAudit(e),
    now: () => clock.now,
    ...over,
  });
  const app = Fastify({ bodyLimit: over.bodyLimit ?? 64 * 1024 });
  await registerPeople(app, {
    accounts,
    bootstrap: new ApiAuth(BOOT_ADMIN),
    secure: over.secure ?? false,
    loginRateLimit: over.loginRateLimit ?? 1000,
  });
  app.get('/api/probe', { config: { permission: 'charts.read' } }, async (req) => ({ who: req.actor }));
  app.post('/api/probe', { config: { permission: 'settings.write' } }, async (req) => ({ who: req.actor }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    app,
    url,
    store,
    accounts,
    clock,
    audit: () => store.listAudit({ limit: 10_000 }),
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Keeps cookies like a browser and sends X-CSRF-Token from the fs_csrf cookie. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request<T = Record<string, unknown>>(
    method: string,
    p: string,
    body?: unknown,
    opts: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-type'] = 'application/json';
    const csrf = this.cookies.get('fs_csrf');
    if ((opts.csrf ?? true) && csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    const res = await fetch(this.base + p, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
  }

  async login(username: string, password: string) {
    return this.request<{ stage?: string; error?: string; message?: string }>('POST', '/api/auth/login', {
      username,
      password,
    });
  }
}

/** The RFC 6238 code for `secret` at the given time, computed by otplib like a phone. */
export function totpAt(secret: string, ms: number): Promise<string> {
  return generate({ secret, epoch: Math.floor(ms / 1000) });
}

export const GOOD_PASSWORD = 'correct horse ledger 42';
