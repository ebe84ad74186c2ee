/**
 * Authorisation of the console: every route declares one permission of the bank's table
 * (`config: { access }`, @finsecure/accounts bank-permissions.ts); one onRequest hook
 * enforces it. Callers are people signed in with a server-side session (HttpOnly,
 * SameSite=Strict cookie); state-changing requests must echo the CSRF token in
 * X-CSRF-Token and come from this origin. A route without a rule is refused (500), so a
 * forgotten rule fails closed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AccountError,
  BANK_ROLE_PERMISSIONS,
  isBankPermission,
  secretMatches,
  setupRequired,
  type Accounts,
  type BankPermission,
} from '@finsecure/accounts';
import type { Operator } from '../context.js';

export const SESSION_COOKIE = 'fsb_session';
export const CSRF_COOKIE = 'fsb_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `__Host-` names under TLS (bound to this host, Secure, Path=/). */
export function cookieNames(secure: boolean): { session: string; csrf: string } {
  return secure
    ? { session: `__Host-${SESSION_COOKIE}`, csrf: `__Host-${CSRF_COOKIE}` }
    : { session: SESSION_COOKIE, csrf: CSRF_COOKIE };
}

export function clientInfo(req: FastifyRequest): { ip: string; userAgent: string } {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
}

export function deny(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).header('cache-control', 'no-store').send({ error, message });
}

export function sendAccountError(reply: FastifyReply, err: unknown) {
  if (err instanceof AccountError) return deny(reply, err.status, err.code, err.message);
  throw err;
}

function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin ?? req.headers.referer;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export interface RouteRule {
  method: string;
  url: string;
  access: BankPermission | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every console route and its declared permission, in registration order. */
    consoleRoutes: () => RouteRule[];
  }
}

/** Installs the hook on the root instance: call before registering any route. */
export function installAuth(app: FastifyInstance, opts: { accounts: Accounts; secure: boolean }): void {
  const { accounts } = opts;
  const names = cookieNames(opts.secure);
  app.decorateRequest('operator', null);

  // Third-party routes (Swagger UI, static files) cannot be annotated: public unless stated.
  // Every route is collected with its rule, for the route × role matrix test.
  const routes: RouteRule[] = [];
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    const c = route.config as { access?: unknown };
    if (c.access === undefined && !route.url.startsWith('/api/')) c.access = 'public';
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods)
      routes.push({ method, url: route.url, access: isBankPermission(c.access) ? c.access : undefined });
  });
  app.decorate('consoleRoutes', () => routes.slice());

  async function identify(req: FastifyRequest, activity: boolean): Promise<Operator | null> {
    const sid = req.cookies[names.session];
    if (!sid) return null;
    const { account, session, expiresAt } = await accounts.authenticateSession(sid, {
      activity,
      client: clientInfo(req),
    });
    return {
      role: account.role,
      permissions: BANK_ROLE_PERMISSIONS[account.role],
      name: account.username,
      displayName: account.displayName,
      accountId: account.id,
      session,
      expiresAt,
      setup: setupRequired(accounts.deps, account),
    };
  }

  app.addHook('onRequest', async (req, reply) => {
    if (!req.routeOptions.url) return; // no such route: the 404 handler answers
    const access = req.routeOptions.config.access;
    if (!isBankPermission(access)) {
      req.log.error({ route: req.routeOptions.url }, 'route has no authorisation rule (config.access)');
      return deny(reply, 500, 'no_rule', 'this route declares no authorisation rule and is refused');
    }
    if (!SAFE.has(req.method) && !sameOrigin(req))
      return deny(reply, 403, 'cross_origin', 'cross-origin request refused');
    if (access === 'public' && !req.url.startsWith('/api/')) return;
    let op: Operator | null;
    try {
      op = await identify(req, !SAFE.has(req.method));
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      if (access === 'public') return;
      if (err.code === 'session_ended') reply.clearCookie(names.session, { path: '/' });
      return deny(reply, err.status, err.code, err.message);
    }
    req.operator = op;
    if (access === 'public') return;
    if (!op) return deny(reply, 401, 'unauthorized', 'sign in first');
    if (!SAFE.has(req.method)) {
      const header = req.headers[CSRF_HEADER];
      if (
        typeof header !== 'string' ||
        header !== req.cookies[names.csrf] ||
        !secretMatches(header, op.session.csrfHash)
      ) {
        await accounts.deps.audit({
          type: 'auth.csrf_refused',
          actor: op.name,
          details: { ip: req.ip, route: `${req.method} ${req.routeOptions.url}` },
        });
        return deny(reply, 403, 'csrf', 'missing or wrong X-CSRF-Token header (reload the page)');
      }
    }
    if (op.setup && access !== 'self') {
      return deny(
        reply,
        403,
        'setup_required',
        op.setup === 'password'
          ? 'change your one-time password first (Profile)'
          : 'set up two-factor authentication first (Profile): it is required for administrators',
      );
    }
    if (!op.permissions.has(access)) {
      return deny(reply, 403, 'forbidden', `your role (${op.role}) does not allow this (${access})`);
    }
  });
}
