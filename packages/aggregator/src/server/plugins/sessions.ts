/**
 * Sign-in routes: password, second factor, logout, who am I, keep-alive. The session id
 * travels only in an HttpOnly, SameSite=Strict cookie (Secure and __Host- under TLS);
 * the CSRF token in a readable cookie that the dashboard echoes in X-CSRF-Token.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AccountError, type IssuedSession } from '@finsecure/accounts';
import { clientInfo, cookieNames } from './auth.js';

export interface SessionRoutesOptions {
  secure: boolean;
  /** Login and MFA attempts per IP per minute (default 20). */
  loginRateLimit?: number;
}

const Login = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', maxLength: 1024 }, password: { type: 'string', maxLength: 4096 } },
} as const;

const Code = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: { type: 'string', maxLength: 256 } },
} as const;

export function sendAccountError(reply: FastifyReply, err: unknown) {
  if (err instanceof AccountError) {
    return reply.code(err.status).header('cache-control', 'no-store').send({ error: err.code, message: err.message });
  }
  throw err;
}

export default async function sessions(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  const names = cookieNames(opts.secure);
  const accounts = app.accounts;
  const rateLimit = { max: opts.loginRateLimit ?? 20, timeWindow: 60_000 };
  const base = { path: '/', sameSite: 'strict' as const, secure: opts.secure };

  function setCookies(reply: FastifyReply, s: IssuedSession) {
    const p = accounts.deps.session;
    const maxAge = Math.floor((s.session.stage === 'mfa' ? p.mfaPendingMs : p.absoluteMs) / 1000);
    reply.setCookie(names.session, s.sessionId, { ...base, httpOnly: true, maxAge });
    // Readable by the page's script on purpose: it is echoed in X-CSRF-Token.
    reply.setCookie(names.csrf, s.csrfToken, { ...base, httpOnly: false, maxAge });
  }

  app.post<{ Body: { username: string; password: string } }>(
    '/api/auth/login',
    {
      config: { permission: 'public', rateLimit },
      schema: {
        tags: ['people'],
        summary: 'Sign in with username and password (then /api/auth/mfa if enrolled)',
        body: Login,
      },
    },
    async (req, reply) => {
      try {
        const s = await accounts.login(req.body, clientInfo(req));
        setCookies(reply, s);
        return { stage: s.session.stage, username: s.account.username };
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.post<{ Body: { code: string } }>(
    '/api/auth/mfa',
    {
      config: { permission: 'public', rateLimit },
      schema: { tags: ['people'], summary: 'Second factor: a 6-digit TOTP code or a recovery code', body: Code },
    },
    async (req, reply) => {
      try {
        const s = await accounts.verifyMfa(req.cookies[names.session], req.body.code, clientInfo(req));
        setCookies(reply, s);
        return { stage: s.session.stage, username: s.account.username };
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.post(
    '/api/auth/logout',
    { config: { permission: 'self' }, schema: { tags: ['people'], summary: 'End this session (server-side)' } },
    async (req, reply) => {
      const sid = req.cookies[names.session];
      if (sid) await accounts.logout(sid);
      reply.clearCookie(names.session, base).clearCookie(names.csrf, base);
      return { ok: true };
    },
  );

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
