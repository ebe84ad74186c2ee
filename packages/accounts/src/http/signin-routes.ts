/**
 * The sign-in routes both servers serve alike, the aggregator for the dashboard and the bank
 * daemon for its console: POST /api/auth/login (password), /api/auth/mfa (second factor) and
 * /api/auth/logout. The session id travels only in an HttpOnly, SameSite=Strict cookie (Secure
 * and __Host- under TLS); the CSRF token in a readable cookie that the page echoes in
 * X-CSRF-Token. Each server keeps its own access checks: it passes the route config that marks
 * a route public or for any signed-in person, and registers @fastify/cookie and rate limiting.
 */
import type {} from '@fastify/cookie';
import type {} from '@fastify/rate-limit';
import type {} from '@fastify/swagger';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccountError } from '../deps.js';
import type { Accounts } from '../index.js';
import type { ClientInfo, IssuedSession } from '../signin.js';

/** The session and CSRF cookies' names: with the __Host- prefix under TLS (RFC 6265bis §4.1.3.2). */
export function cookieNames(
  secure: boolean,
  base: { session: string; csrf: string },
): { session: string; csrf: string } {
  return secure ? { session: `__Host-${base.session}`, csrf: `__Host-${base.csrf}` } : base;
}

export function clientInfo(req: FastifyRequest): ClientInfo {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
}

/** An AccountError as its status and `{ error, message }`, never cached; anything else is rethrown. */
export function sendAccountError(reply: FastifyReply, err: unknown) {
  if (err instanceof AccountError) {
    return reply.code(err.status).header('cache-control', 'no-store').send({ error: err.code, message: err.message });
  }
  throw err;
}

export interface SignInRoutesOptions {
  accounts: Accounts;
  /** Served over TLS: Secure, __Host- cookies. */
  secure: boolean;
  /** The cookies' names without the __Host- prefix. */
  cookies: { session: string; csrf: string };
  /** Login and MFA attempts per IP per minute. */
  loginRateLimit: number;
  /**
   * The route config each server's access check reads: for anyone, and for a signed-in person
   * (typed by each server's own augmentation of FastifyContextConfig, so a misspelt rule fails to compile).
   */
  routeConfig: { public: FastifyContextConfig; self: FastifyContextConfig };
}

/** JSON Schema of a string of at most `maxLength` characters (for route bodies). */
export const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;
/** JSON Schema of a route body: these properties, `required` of them, nothing else. */
export const body = (properties: Record<string, unknown>, required: string[]) =>
  ({ type: 'object', required, additionalProperties: false, properties }) as const;

/**
 * The most bytes a sign-in body may have: the longest name and password the schemas allow, each
 * character escaped in JSON (6 bytes), with room to spare. A server's own limit is set for its
 * largest upload (the bank console's scoring batches: MBs), and these routes answer anyone.
 */
export const SIGN_IN_BODY_LIMIT = 32 * 1024;

export function signInRoutes(app: FastifyInstance, o: SignInRoutesOptions): void {
  const { accounts } = o;
  const names = cookieNames(o.secure, o.cookies);
  const rateLimit = { max: o.loginRateLimit, timeWindow: 60_000 };
  const base = { path: '/', sameSite: 'strict' as const, secure: o.secure };
  const tags = ['people'];

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
      config: { ...o.routeConfig.public, rateLimit },
      bodyLimit: SIGN_IN_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Sign in with username and password (then /api/auth/mfa if enrolled)',
        body: body({ username: str(1024), password: str(4096) }, ['username', 'password']),
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
      config: { ...o.routeConfig.public, rateLimit },
      bodyLimit: SIGN_IN_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Second factor: a 6-digit TOTP code or a recovery code',
        body: body({ code: str(256) }, ['code']),
      },
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
    {
      // Also for a session still waiting for its second factor (access-hook.ts).
      config: { ...o.routeConfig.self, allowPendingMfa: true },
      schema: { tags, summary: 'End this session (server-side), signed in or waiting for the second factor' },
    },
    async (req, reply) => {
      const sid = req.cookies[names.session];
      if (sid) await accounts.logout(sid);
      reply.clearCookie(names.session, base).clearCookie(names.csrf, base);
      return { ok: true };
    },
  );
}
