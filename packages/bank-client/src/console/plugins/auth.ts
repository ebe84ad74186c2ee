/**
 * Authorisation of the console: every route declares one permission of the bank's table
 * (`config: { access }`, @finsecure/accounts bank-permissions.ts); one onRequest hook, the
 * aggregator's too (@finsecure/accounts/http accessHook), enforces it. Callers are people signed in with a server-side session (HttpOnly,
 * SameSite=Strict cookie); state-changing requests must echo the CSRF token in
 * X-CSRF-Token and come from this origin. A route without a rule is refused (500), so a
 * forgotten rule fails closed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
// req.cookies and reply.clearCookie: @fastify/cookie's types (registered by registerWebSecurity).
import type {} from '@fastify/cookie';
import {
  BANK_ROLE_PERMISSIONS,
  isBankPermission,
  setupRequired,
  type Accounts,
  type BankPermission,
} from '@finsecure/accounts';
import { accessHook, clientInfo, cookieNames as sharedCookieNames, CSRF_HEADER, deny } from '@finsecure/accounts/http';
import type { Operator } from '../context.js';

export const SESSION_COOKIE = 'fsb_session';
export const CSRF_COOKIE = 'fsb_csrf';
export { CSRF_HEADER };

/** `__Host-` names under TLS (bound to this host, Secure, Path=/). */
export function cookieNames(secure: boolean): { session: string; csrf: string } {
  return sharedCookieNames(secure, { session: SESSION_COOKIE, csrf: CSRF_COOKIE });
}

export { deny };

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

  app.addHook(
    'onRequest',
    accessHook({
      ruleOf: (req) => {
        const access = req.routeOptions.config.access;
        return isBankPermission(access) ? access : undefined;
      },
      ruleField: 'config.access',
      isApi: (url) => url.startsWith('/api/'),
      identify,
      csrfHashOf: (op) => op.session.csrfHash,
      attach: (req, op) => void (req.operator = op),
      cookies: names,
      audit: (entry) => accounts.deps.audit(entry),
      forbidden: (caller, ip, route) => accounts.deps.refusedActions.record(ip, route, caller),
      unauthorized: 'sign in first',
    }),
  );

  // Summaries of coalesced refusals still counting (rejected cookies, refused changes): at stop,
  // not lost with the process.
  app.addHook('onClose', async () => {
    await accounts.drainAudit();
  });
}
