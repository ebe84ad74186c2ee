/**
 * Authentication and authorisation for every HTTP route.
 *
 * Every route declares its rule next to its definition, `config: { permission: '…' }`
 * (accounts/permissions.ts). One onRequest hook (@finsecure/accounts/http accessHook, the
 * bank console's too) enforces it: a route without a
 * declaration is refused with 500 (and the authorisation-matrix test fails), so a new
 * route cannot be reachable by accident. The hook identifies the caller as
 *   - a person, by the session cookie (server-side session, accounts/signin.ts);
 *   - a named API token ("Authorization: Bearer fsk_…"), which answers to the person who created it
 *     (refused once that person is disabled or holds less than the token's role; accounts/api-tokens.ts):
 *     the audit names it `token:<name>`, with its creator's username in `details.by`;
 *   - a bootstrap token (FINSECURE_ADMIN_TOKEN / FINSECURE_VIEWER_TOKEN), for compose and
 *     scripts before the first account exists.
 *
 * CSRF: requests authenticated by the cookie that change state (not GET/HEAD/OPTIONS)
 * must carry "X-CSRF-Token" equal to the fs_csrf cookie *and* to the token issued with
 * this session (its sha256 is stored in the session): a signed double-submit. Another
 * site can neither read the cookie nor set a custom header cross-origin without a CORS
 * preflight, which we never grant; SameSite=Strict and an Origin check are further
 * layers. Bearer-token requests carry no ambient credential and need no CSRF token.
 */
import type {
  FastifyPluginAsync,
  FastifyPluginCallback,
  FastifyPluginOptions,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import fp from 'fastify-plugin';
// req.cookies and reply.clearCookie: @fastify/cookie's types (registered by registerWebSecurity).
import type {} from '@fastify/cookie';
import {
  AccountError,
  BOOTSTRAP_VIEWER_PERMISSIONS,
  ROLE_PERMISSIONS,
  isPermission,
  SAFE_METHODS,
  setupRequired,
  type Accounts,
  type Permission,
  type AccountRole as Role,
  type SessionRecord,
} from '@finsecure/accounts';
import { accessHook, clientInfo, cookieNames as sharedCookieNames, CSRF_HEADER, deny } from '@finsecure/accounts/http';
import type { ApiAuth } from '../../auth/tokens.js';

export const SESSION_COOKIE = 'fs_session';
export const CSRF_COOKIE = 'fs_csrf';
export { CSRF_HEADER };

export interface Principal {
  kind: 'session' | 'api-token' | 'bootstrap';
  /** For the bootstrap viewer token this is "viewer" (its historical name); see permissions. */
  role: Role;
  permissions: ReadonlySet<Permission>;
  /** What the audit log calls this caller: a username, "token:<name>" or "bootstrap-admin-token". */
  name: string;
  accountId: string | null;
  /**
   * For an API token: who answers for it, its creator (account id and username, or the bootstrap
   * credential that made it: id and name both "bootstrap-admin-token"). Its actions are audited
   * with `details.by` = this name, and "you cannot disable yourself" applies to the creator.
   */
  by: { id: string; name: string } | null;
  session: SessionRecord | null;
  /** When the session ends unless used (sessions only). */
  expiresAt: number | null;
  /** What a person must set up before anything but `self` is allowed. */
  setup: 'password' | 'mfa' | null;
}

/** One declared route, as collected by the onRoute hook (for the matrix test and docs). */
export interface RouteRule {
  method: string;
  url: string;
  permission: Permission | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The authorisation rule of this route (see accounts/permissions.ts). */
    permission?: Permission;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Kept for older plugins: the caller's role, or null. */
    role: Role | null;
    /** Who to name in the audit log ("system" when unauthenticated). */
    actor: string;
  }
  interface FastifyInstance {
    /** Kept for older plugins: the onRequest hook already enforced the route's permission. */
    requireViewer: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** Every route and its declared permission, in registration order. */
    routeRules: () => RouteRule[];
    accounts: Accounts;
    /**
     * The caller of `req` looked up again from its credential (session cookie or bearer token),
     * without extending the session, and without auditing a session that has ended meanwhile as
     * an unknown cookie: a long-lived stream (/ws/events) re-checks it. Null when
     * the request carries no credential; throws AccountError(401) when the session has ended
     * or the token was revoked.
     */
    identify: (req: FastifyRequest) => Promise<Principal | null>;
  }
}

export interface AuthOptions {
  accounts: Accounts;
  /** Bootstrap tokens (FINSECURE_ADMIN_TOKEN / FINSECURE_VIEWER_TOKEN). */
  bootstrap: ApiAuth | null;
  /** Served over TLS: cookies get Secure and the __Host- prefix. */
  secure: boolean;
}

export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1] : undefined;
}

/** Cookie names: `__Host-` under TLS (bound to this host, Secure, Path=/). */
export function cookieNames(secure: boolean): { session: string; csrf: string } {
  return sharedCookieNames(secure, { session: SESSION_COOKIE, csrf: CSRF_COOKIE });
}

/** The request's Origin (or Referer) is this server, or absent (non-browser clients). */
/**
 * Registers a third-party plugin (Swagger UI, static files) whose routes we cannot
 * annotate, declaring `permission` for all of them at the registration site.
 */
export function declareRoutes<O extends FastifyPluginOptions>(
  permission: Permission,
  plugin: FastifyPluginAsync<O> | FastifyPluginCallback<O>,
): FastifyPluginAsync<O> {
  return async (app, opts) => {
    app.addHook('onRoute', (route) => {
      route.config ??= {};
      (route.config as { permission?: Permission }).permission ??= permission;
    });
    await app.register(plugin as FastifyPluginAsync<O>, opts);
  };
}

export default fp(
  async (app, opts: AuthOptions) => {
    const { accounts, bootstrap } = opts;
    const names = cookieNames(opts.secure);
    // The config objects themselves are kept: a wrapper may stamp a permission on a
    // third-party plugin's routes after this hook ran (see declareRoutes).
    const routes: { method: string; url: string; config: { permission?: unknown } }[] = [];
    app.decorate('routeRules', () =>
      routes.map((r) => ({
        method: r.method,
        url: r.url,
        permission: isPermission(r.config.permission) ? r.config.permission : undefined,
      })),
    );
    app.decorate('accounts', accounts);
    app.decorateRequest('principal', null);
    app.decorateRequest('role', null);
    app.decorateRequest('actor', 'system');
    if (bootstrap) {
      app.log.warn(
        'FINSECURE_ADMIN_TOKEN (and FINSECURE_VIEWER_TOKEN, if set) are bootstrap credentials for compose and scripts: ' +
          'use named accounts for people and named API tokens (POST /api/tokens) for automation',
      );
    }

    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      route.config ??= {};
      for (const method of methods) routes.push({ method, url: route.url, config: route.config });
    });

    async function identify(req: FastifyRequest, activity: boolean, quiet = false): Promise<Principal | null> {
      const token = bearer(req.headers.authorization);
      if (token) {
        const legacy = bootstrap?.roleOf(token) ?? null;
        if (legacy) {
          return {
            kind: 'bootstrap',
            role: legacy,
            permissions: legacy === 'admin' ? ROLE_PERMISSIONS.admin : BOOTSTRAP_VIEWER_PERMISSIONS,
            name: `bootstrap-${legacy}-token`,
            accountId: null,
            by: null,
            session: null,
            expiresAt: null,
            setup: null,
          };
        }
        const found = await accounts.authenticateApiToken(token);
        if (!found)
          throw new AccountError(
            401,
            'unauthorized',
            "unknown, revoked or expired token, or its creator's rights ended",
          );
        const t = found.token;
        return {
          kind: 'api-token',
          role: t.role,
          permissions: ROLE_PERMISSIONS[t.role],
          name: `token:${t.name}`,
          accountId: null,
          by: { id: found.creator.id, name: found.creator.name },
          session: null,
          expiresAt: t.expiresAt,
          setup: null,
        };
      }
      const sid = req.cookies[names.session];
      if (!sid) return null;
      const { account, session, expiresAt } = await accounts.authenticateSession(sid, {
        activity,
        client: clientInfo(req),
        quiet,
      });
      return {
        kind: 'session',
        role: account.role,
        permissions: ROLE_PERMISSIONS[account.role],
        name: account.username,
        accountId: account.id,
        by: null,
        session,
        expiresAt,
        setup: setupRequired(accounts.deps, account),
      };
    }

    app.addHook(
      'onRequest',
      accessHook({
        ruleOf: (req) => {
          const permission = req.routeOptions.config.permission;
          return isPermission(permission) ? permission : undefined;
        },
        ruleField: 'config.permission',
        // Static files (dashboard, docs) need no caller; the API and the live stream do.
        isApi: (url) => /^\/(api|ws)\//.test(url),
        identify,
        csrfHashOf: (p) => (p.kind === 'session' ? p.session!.csrfHash : null),
        attach: (req, principal) => {
          req.principal = principal;
          req.role = principal?.role ?? null;
          req.actor = principal?.name ?? 'system';
        },
        cookies: names,
        audit: (entry) => accounts.deps.audit(entry),
        forbidden: (caller, ip, route) => accounts.deps.refusedActions.record(ip, route, caller),
        unauthorized: 'sign in, or send "Authorization: Bearer <API token>"',
        forbiddenHint: ': ask for a role that does, or use the admin token',
      }),
    );

    // Every successful change made through the API names the person (or token, and the person
    // answerable for it: `by`) who made it.
    app.addHook('onResponse', async (req, reply) => {
      if (SAFE_METHODS.has(req.method) || !req.principal || reply.statusCode >= 400) return;
      const permission = req.routeOptions.config.permission;
      if (permission === 'self' || permission === 'public') return; // own profile: audited where it happens
      await accounts.deps
        .audit({
          type: 'api.action',
          actor: req.principal.name,
          details: {
            route: `${req.method} ${req.routeOptions.url}`,
            status: reply.statusCode,
            permission: permission ?? null,
            ...(req.principal.by ? { by: req.principal.by.name } : {}),
          },
        })
        .catch((err: unknown) => req.log.error({ err }, 'audit append failed'));
    });

    // Summaries of coalesced rejected-cookie entries still counting (accounts/rejected-sessions.ts).
    app.addHook('onClose', async () => {
      await accounts.drainAudit();
    });

    const authenticated = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!req.principal) await deny(reply, 401, 'unauthorized', 'sign in first');
    };
    app.decorate('identify', (req: FastifyRequest) => identify(req, false, true));
    app.decorate('requireViewer', authenticated);
    app.decorate('requireAdmin', authenticated);
  },
  { name: 'finsecure-auth', dependencies: ['@fastify/cookie'] },
);
