/**
 * The onRequest hook both servers install (the aggregator's server/plugins/auth.ts, the bank
 * console's console/plugins/auth.ts): it enforces the rule every route declares, in order:
 *
 * 1. a route without a rule is refused (500 `no_rule`), so a forgotten rule fails closed;
 * 2. a state-changing request from another origin is refused (403 `cross_origin`, access.ts sameOrigin);
 * 3. a public route outside the API (the web app's files, the API docs) is served without
 *    looking the caller up, so a stale cookie is not checked (and audited) once per asset;
 * 4. the caller is identified (the server's own way: session cookie, API or bootstrap token); an
 *    ended session clears its cookie; a public route is served whoever calls it; a session still
 *    waiting for its second factor is refused (401 `mfa_required`) except on a route whose config
 *    sets `allowPendingMfa` (logout: a person who cannot finish signing in must be able to end the
 *    half-open session), which it reaches, its CSRF token checked, with no caller attached;
 * 5. no caller: 401; otherwise the shared decision (access.ts accessRefusal: CSRF, pending
 *    set-up, role), a CSRF refusal audited as `auth.csrf_refused`, a change the role does not
 *    allow as `auth.forbidden` (coalesced per caller, address and route).
 *
 * Only user actions (not GET/HEAD/OPTIONS) extend a session's idle timer: background polling
 * must not keep an unattended session alive.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type {} from '@fastify/cookie';
import { accessRefusal, csrfRefusedEntry, sameOrigin, SAFE_METHODS, type AccessCaller } from '../access.js';
import { AccountError, MfaPendingError, type AuditInput } from '../deps.js';
import { secretMatches } from '../secrets.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A session waiting for its second factor may call this route too (the shared logout). */
    allowPendingMfa?: boolean;
  }
}

/** The header a state-changing request from a signed-in page echoes the CSRF cookie in. */
export const CSRF_HEADER = 'x-csrf-token';

/** An error answer: JSON { error, message }, never cached. */
export function deny(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).header('cache-control', 'no-store').send({ error, message });
}

export interface AccessHookOptions<P extends string, C extends Omit<AccessCaller<P>, 'csrfHash'>> {
  /** The rule the route declares, if it is one (P includes 'public' and 'self'); else undefined. */
  ruleOf: (req: FastifyRequest) => P | undefined;
  /** Where the rule is declared, for the log line of a route without one (e.g. "config.access"). */
  ruleField: string;
  /** Whether a path is the API (or another path whose public routes still want to know the caller). */
  isApi: (url: string) => boolean;
  /** The caller, or null for none; throws AccountError for a bad credential. */
  identify: (req: FastifyRequest, activity: boolean) => Promise<C | null>;
  /** sha256 hex of the caller's session CSRF token; null for callers without a session cookie. */
  csrfHashOf: (caller: C) => string | null;
  /** Stores the caller (or null) on the request for the routes. */
  attach: (req: FastifyRequest, caller: C | null) => void;
  cookies: { session: string; csrf: string };
  /** Appends an audit entry (the CSRF refusals). */
  audit: (entry: Omit<AuditInput, 'at'>) => Promise<unknown>;
  /** The 401 message (how to sign in here). */
  unauthorized: string;
  /** Appended to a role refusal's message. */
  forbiddenHint?: string;
  /**
   * Audits a state-changing request the caller's role does not allow (coalesced: deps.ts
   * refusedActions). Reads refused by role are not audited: a viewer's page asks for panels its
   * role does not show, every refresh.
   */
  forbidden?: (caller: string, ip: string, route: string) => Promise<void>;
}

export function accessHook<P extends string, C extends Omit<AccessCaller<P>, 'csrfHash'> & { name: string }>(
  o: AccessHookOptions<P, C>,
): onRequestHookHandler {
  return async (req, reply) => {
    if (!req.routeOptions.url) return; // no such route: the 404 handler answers
    const rule = o.ruleOf(req);
    if (rule === undefined) {
      req.log.error({ route: req.routeOptions.url }, `route has no authorisation rule (${o.ruleField})`);
      return deny(reply, 500, 'no_rule', 'this route declares no authorisation rule and is refused');
    }
    if (!SAFE_METHODS.has(req.method) && !sameOrigin(req.headers))
      return deny(reply, 403, 'cross_origin', 'cross-origin request refused');
    if (rule === 'public' && !o.isApi(req.url)) return;
    let caller: C | null;
    try {
      caller = await o.identify(req, !SAFE_METHODS.has(req.method));
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      if (rule === 'public') return;
      if (err instanceof MfaPendingError && req.routeOptions.config.allowPendingMfa) {
        // The same signed double-submit as accessRefusal's, against the pending session's token.
        const header = req.headers[CSRF_HEADER];
        if (
          !SAFE_METHODS.has(req.method) &&
          (typeof header !== 'string' ||
            header !== req.cookies[o.cookies.csrf] ||
            !secretMatches(header, err.session.csrfHash))
        ) {
          await o.audit(csrfRefusedEntry('anonymous', req.ip, `${req.method} ${req.routeOptions.url}`));
          return deny(reply, 403, 'csrf', 'missing or wrong X-CSRF-Token header (reload the page)');
        }
        o.attach(req, null);
        return;
      }
      // A __Host- cookie (under TLS) is only replaced by one that is Secure too: browsers drop the
      // clearing header otherwise and keep sending the ended session.
      if (err.code === 'session_ended')
        reply.clearCookie(o.cookies.session, { path: '/', secure: o.cookies.session.startsWith('__Host-') });
      return deny(reply, err.status, err.code, err.message);
    }
    o.attach(req, caller);
    if (rule === 'public') return;
    if (!caller) return deny(reply, 401, 'unauthorized', o.unauthorized);
    const refusal = accessRefusal({
      method: req.method,
      permission: rule,
      csrfHeader: req.headers[CSRF_HEADER],
      csrfCookie: req.cookies[o.cookies.csrf],
      caller: { ...caller, csrfHash: o.csrfHashOf(caller) },
      ...(o.forbiddenHint !== undefined ? { forbiddenHint: o.forbiddenHint } : {}),
    });
    if (refusal) {
      const route = `${req.method} ${req.routeOptions.url}`;
      if (refusal.code === 'csrf') await o.audit(csrfRefusedEntry(caller.name, req.ip, route));
      else if (refusal.code === 'forbidden' && !SAFE_METHODS.has(req.method) && o.forbidden)
        await o.forbidden(caller.name, req.ip, `${route} (${rule})`);
      return deny(reply, refusal.status, refusal.code, refusal.message);
    }
  };
}
