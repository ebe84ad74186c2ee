/**
 * Sign-in routes: password, second factor and logout (signInRoutes, shared with the bank
 * console), who am I, keep-alive. The session id travels only in an HttpOnly, SameSite=Strict
 * cookie (Secure and __Host- under TLS); the CSRF token in a readable cookie that the dashboard
 * echoes in X-CSRF-Token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

  const whoami = async (req: FastifyRequest) => {
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
  };

  app.get(
    '/api/whoami',
    {
      config: { permission: 'self' },
      schema: { tags: ['people'], summary: 'Who is signed in, their role and permissions' },
    },
    whoami,
  );

  // The dashboard's first question, as the bank console's: /api/whoami answers 401 when nobody is
  // signed in, right for scripts but the normal case on the sign-in page, where the browser logs
  // every 4xx fetch as a console error. Public, 200 either way; an anonymous caller (or a session
  // or token the access hook did not accept) learns only `signedIn: false`.
  app.get(
    '/api/auth/session',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['people'],
        summary: 'Whether this caller is signed in (200 either way) and, if so, what /api/whoami says',
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      if (!req.principal) return { signedIn: false };
      return { signedIn: true, ...(await whoami(req)) };
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
