/**
 * The authorisation decision both servers make for a request once its caller is known (the
 * aggregator's server/plugins/auth.ts and the bank console's console/plugins/auth.ts; each
 * identifies callers its own way and answers the refusal itself). In order:
 *
 * 1. CSRF, for a state-changing request (not GET/HEAD/OPTIONS) from a caller with an ambient
 *    credential (a session cookie): a signed double-submit (OWASP CSRF Prevention Cheat
 *    Sheet): the X-CSRF-Token header must equal the CSRF cookie *and* match the hash stored
 *    with the session (constant-time). Bearer-token callers carry no ambient credential.
 * 2. A pending set-up (one-time password to change, MFA to enrol) allows only `self` routes.
 * 3. The route's permission must be in the caller's role's set.
 *
 * Pure: no IO. The caller audits a CSRF refusal (`auth.csrf_refused`) and sends the answer.
 */
import { secretMatches } from './secrets.js';

/** Methods that must not change state: no CSRF token needed. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AccessCaller<P extends string> {
  role: string;
  permissions: ReadonlySet<P>;
  /** What the person must set up before anything but `self` is allowed. */
  setup: 'password' | 'mfa' | null;
  /** sha256 hex of the session's CSRF token; null for callers without a session cookie. */
  csrfHash: string | null;
}

export interface AccessRequest<P extends string> {
  method: string;
  /** The route's declared permission (`self` is allowed during a pending set-up). */
  permission: P;
  /** X-CSRF-Token as received (a repeated header arrives as an array and is refused). */
  csrfHeader: unknown;
  /** The CSRF cookie, if any. */
  csrfCookie: string | undefined;
  caller: AccessCaller<P>;
  /** Appended to the "forbidden" message, e.g. where else the permission can be found. */
  forbiddenHint?: string;
}

export interface AccessRefusal {
  status: 403;
  code: 'csrf' | 'setup_required' | 'forbidden';
  message: string;
}

/** Why `request` is refused, or null when it may proceed. */
export function accessRefusal<P extends string>(request: AccessRequest<P>): AccessRefusal | null {
  const { caller, permission } = request;
  if (caller.csrfHash !== null && !SAFE_METHODS.has(request.method)) {
    const header = request.csrfHeader;
    if (typeof header !== 'string' || header !== request.csrfCookie || !secretMatches(header, caller.csrfHash)) {
      return { status: 403, code: 'csrf', message: 'missing or wrong X-CSRF-Token header (reload the page)' };
    }
  }
  if (caller.setup && permission !== 'self') {
    return {
      status: 403,
      code: 'setup_required',
      message:
        caller.setup === 'password'
          ? 'change your one-time password first (Profile)'
          : 'set up two-factor authentication first (Profile): it is required for administrators',
    };
  }
  if (!caller.permissions.has(permission)) {
    return {
      status: 403,
      code: 'forbidden',
      message: `your role (${caller.role}) does not allow this (${permission})${request.forbiddenHint ?? ''}`,
    };
  }
  return null;
}

/**
 * Whether a state-changing request comes from this server's own origin: its Origin (or, when
 * a browser sends none, Referer) names the Host it was sent to. No header at all passes
 * (non-browser clients); an unparseable one fails.
 */
export function sameOrigin(headers: { origin?: string; referer?: string; host?: string }): boolean {
  const origin = headers.origin ?? headers.referer;
  if (!origin) return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}

/** The audit entry of a CSRF refusal: who, from where, on which route ("POST /api/x"). */
export function csrfRefusedEntry(actor: string, ip: string, route: string) {
  return { type: 'auth.csrf_refused', actor, details: { ip, route } };
}
