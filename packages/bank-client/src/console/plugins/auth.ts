/**
 * Authorisation of the console: every route declares one permission of the bank's table
 * (`config: { access }`, @finsecure/accounts bank-permissions.ts); one onRequest hook
 * enforces it. Callers are people signed in with a server-side session (HttpOnly,
 * SameSite=Strict cookie); state-changing requests must echo the CSRF token in
 * X-CSRF-Token and come from this origin. A route without a rule is refused (500), so a
 * forgotten rule fails closed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
// req.cookies and reply.clearCookie: @fastify/cookie's types (registered by registerWebSecurity).
import type {} from '@fastify/cookie';
import {
  AccountError,
  BANK_ROLE_PERMISSIONS,
  isBankPermission,
  accessRefusal,
  csrfRefusedEntry,
  sameOrigin,
  SAFE_METHODS,
  setupRequired,
  type Accounts,
  type BankPermission,
} from '@finsecure/accounts';
import { clientInfo, cookieNames as sharedCookieNames } from '@finsecure/accounts/http';
import type { Operator } from '../context.js';

export const SESSION_COOKIE = 'fsb_session';
export const CSRF_COOKIE = 'fsb_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** `__Host-` names under TLS (bound to this host, Secure, Path=/). */
export function cookieNames(secure: boolean): { session: string; csrf: string } {
  return sharedCookieNames(secure, { session: SESSION_COOKIE, csrf: CSRF_COOKIE });
}

export function deny(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).header('cache-control', 'no-store').send({ error, message });
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
    if (!SAFE_METHODS.has(req.method) && !sameOrigin(req.headers))
      return deny(reply, 403, 'cross_origin', 'cross-origin request refused');
    if (access === 'public' && !req.url.startsWith('/api/')) return;
    let op: Operator | null;
    try {
      op = await identify(req, !SAFE_METHODS.has(req.method));
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      if (access === 'public') return;
      if (err.code === 'session_ended') reply.clearCookie(names.session, { path: '/' });
      return deny(reply, err.status, err.code, err.message);
    }
    req.operator = op;
    if (access === 'public') return;
    if (!op) return deny(reply, 401, 'unauthorized', 'sign in first');
    const refusal = accessRefusal({
      method: req.method,
      permission: access,
      csrfHeader: req.headers[CSRF_HEADER],
      csrfCookie: req.cookies[names.csrf],
      caller: { ...op, csrfHash: op.session.csrfHash },
    });
    if (refusal) {
      if (refusal.code === 'csrf')
        await accounts.deps.audit(csrfRefusedEntry(op.name, req.ip, `${req.method} ${req.routeOptions.url}`));
      return deny(reply, refusal.status, refusal.code, refusal.message);
    }
  });
}
