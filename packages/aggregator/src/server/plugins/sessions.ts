/**
 * Sign-in routes: password, second factor and logout (signInRoutes, shared with the bank
 * console), who am I, keep-alive. The session id travels only in an HttpOnly, SameSite=Strict
 * cookie (Secure and __Host- under TLS); the CSRF token in a readable cookie that the dashboard
 * echoes in X-CSRF-Token.
 */
import type { FastifyInstance } from 'fastify';
import { signInRoutes } from '@finsecure/accounts/http';
import { CSRF_COOKIE, SESSION_COOKIE } from './auth.js';

export { sendAccountError } from '@finsecure/accounts/http';

export interface SessionRoutesOptions {
  secure: boolean;
  /** Login and MFA attempts per IP per minute (default 20). */
  loginRateLimit?: number;
}

export default async function sessions(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  const accounts = app.accounts;
  signInRoutes(app, {
    accounts,
    secure: opts.secure,
    cookies: { session: SESSION_COOKIE, csrf: CSRF_COOKIE },
    loginRateLimit: opts.loginRateLimit ?? 20,
    routeConfig: { public: { permission: 'public' }, self: { permission: 'self' } },
  });

  app.get(
    '/api/whoami',
    {
      config: { permission: 'self' },
      schema: { tags: ['people'], summary: 'Who is signed in, their role and permissions' },
    },
    async (req) => {
      const p = req.principal!;
      const account = p.accountId ? await accounts.deps.store.getAccount(p.accountId) : null;
      return {
        role: p.role,
        kind: p.kind,
        permissions: [...p.permissions].sort(),
        username: account?.username ?? null,
        displayName: account?.displayName ?? p.name,
        mfaEnabled: account ? account.totpSecret !== null : null,
        setup: p.setup,
        expiresAt: p.expiresAt,
        now: accounts.deps.now(),
        idleMs: p.kind === 'session' ? accounts.deps.session.idleMs : null,
      };
    },
  );

  app.post(
    '/api/session/refresh',
    {
      config: { permission: 'self' },
      schema: { tags: ['people'], summary: 'Keep this session alive (user activity); returns the new expiry' },
    },
    async (req) => ({ expiresAt: req.principal!.expiresAt, now: accounts.deps.now() }),
  );
}
