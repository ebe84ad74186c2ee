/**
 * What the account core needs from its host, injected so that the core has no Fastify,
 * no database driver and no wall clock: the AccountStore, an audit sink (the hash-chained
 * audit log), a clock, and the policies.
 */
import { randomBytes } from 'node:crypto';
import { BANK_ROLE_PERMISSIONS } from './bank-permissions.js';
import { ROLE_PERMISSIONS, ROLES } from './permissions.js';
import { RejectedSessionLog, type Timers } from './rejected-sessions.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from './session-policy.js';
import type { AccountRecord, AccountRole, AccountStore, SessionRecord } from './types.js';
import { UnknownNameLockouts } from './unknown-names.js';

/**
 * One audit-log entry as the host's hash-chained log takes it (the aggregator's
 * `Store.appendAudit`, the bank console's local chain).
 */
export interface AuditInput {
  at: number;
  /** e.g. user.login, user.created, session.ended. */
  type: string;
  /** Who did it: an account id, "system", ... */
  actor: string;
  details: Record<string, unknown>;
}

export interface LockoutPolicy {
  /** Consecutive failures (password or second factor) before the account locks. */
  maxFailures: number;
  lockMs: number;
}

export interface AccountsOptions {
  store: AccountStore;
  /** Appends to the audit log. Details never carry a password, code, token or session id. */
  audit: (entry: AuditInput) => Promise<unknown>;
  now: () => number;
  session?: Partial<SessionPolicy>;
  lockout?: Partial<LockoutPolicy>;
  /** Admins must enrol TOTP before they can do anything but set it up (default true). */
  requireMfaForAdmins?: boolean;
  /** Issuer shown in authenticator apps. */
  issuer?: string;
  /**
   * The roles this server grants (default: the consortium's ROLES). The bank console
   * passes BANK_ROLES. Creating an account or token with another role is refused.
   */
  roles?: readonly AccountRole[];
  /**
   * Rejected session cookies (unknown or ended) are audited once per client address per window, the
   * repeats counted into one summary (rejected-sessions.ts). Default 60 s, as the bank socket's
   * refusal log (the aggregator's refusalAuditWindowMs).
   */
  rejectedSessionWindowMs?: number;
  /** Timers for those summaries (default: Node's, unref'd so that they never hold a process open). */
  timers?: Timers;
  /**
   * Key of the HMAC that stands for a username without an account in the audit log
   * (auditNameTag). Default: 32 random bytes per process, so a tag matches only within one run.
   */
  auditNameKey?: Buffer;
}

export interface AccountsDeps {
  store: AccountStore;
  audit: (entry: Omit<AuditInput, 'at'>) => Promise<void>;
  now: () => number;
  session: SessionPolicy;
  lockout: LockoutPolicy;
  requireMfaForAdmins: boolean;
  issuer: string;
  roles: readonly AccountRole[];
  /** Failed sign-ins to names without an account, so that they lock like accounts (unknown-names.ts). */
  unknownNames: UnknownNameLockouts;
  /** Coalesced `auth.session_rejected` entries (rejected-sessions.ts). */
  rejectedSessions: RejectedSessionLog;
  /**
   * Coalesced `auth.forbidden` entries: changes a signed-in caller's role does not allow, per
   * caller, address and route (access-hook.ts). Same window as the rejected sessions.
   */
  refusedActions: RejectedSessionLog;
  /** HMAC key of auditNameTag (never stored, never logged). */
  auditNameKey: Buffer;
}

export function makeDeps(o: AccountsOptions): AccountsDeps {
  const audit = async (e: Omit<AuditInput, 'at'>) => void (await o.audit({ ...e, at: o.now() }));
  return {
    store: o.store,
    audit,
    now: o.now,
    session: { ...DEFAULT_SESSION_POLICY, ...o.session },
    lockout: { maxFailures: 5, lockMs: 15 * 60_000, ...o.lockout },
    requireMfaForAdmins: o.requireMfaForAdmins ?? true,
    issuer: o.issuer ?? 'FinSecure',
    roles: o.roles ?? ROLES,
    unknownNames: new UnknownNameLockouts(),
    rejectedSessions: new RejectedSessionLog({
      audit,
      now: o.now,
      windowMs: o.rejectedSessionWindowMs ?? 60_000,
      ...(o.timers ? { timers: o.timers } : {}),
    }),
    refusedActions: new RejectedSessionLog({
      audit,
      type: 'auth.forbidden',
      now: o.now,
      windowMs: o.rejectedSessionWindowMs ?? 60_000,
      ...(o.timers ? { timers: o.timers } : {}),
    }),
    auditNameKey: o.auditNameKey ?? randomBytes(32),
  };
}

/** What a signed-in person may see of an account (no hashes, no TOTP secret). */
export interface AccountView {
  id: string;
  username: string;
  displayName: string;
  role: AccountRecord['role'];
  mfaEnabled: boolean;
  mustChangePassword: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  disabled: boolean;
  locked: boolean;
}

export function accountView(a: AccountRecord, now: number): AccountView {
  return {
    id: a.id,
    username: a.username,
    displayName: a.displayName,
    role: a.role,
    mfaEnabled: a.totpSecret !== null,
    mustChangePassword: a.mustChangePassword,
    createdAt: a.createdAt,
    lastLoginAt: a.lastLoginAt,
    disabled: a.disabledAt !== null,
    locked: a.lockedUntil !== null && a.lockedUntil > now,
  };
}

/** Sessions of an account that must set something up first are limited to `self`. */
export function setupRequired(d: AccountsDeps, a: AccountRecord): 'password' | 'mfa' | null {
  if (a.mustChangePassword) return 'password';
  if (d.requireMfaForAdmins && a.role === 'admin' && a.totpSecret === null) return 'mfa';
  return null;
}

/** Whether this server grants `role`. */
export function grantsRole(d: AccountsDeps, role: unknown): role is AccountRole {
  return typeof role === 'string' && (d.roles as readonly string[]).includes(role);
}

/** The refusal message for a role this server does not grant. */
export function roleChoices(d: AccountsDeps): string {
  return `must be one of ${d.roles.join(', ')}`;
}

/**
 * Whether `holder` has every permission `wanted` has, in both role tables (the consortium's and
 * the bank console's). Roles are not a ladder: an ML engineer and an auditor each hold something
 * the other does not, so neither covers the other. An API token may never carry more than the
 * role of the person answerable for it (api-tokens.ts).
 */
export function roleCovers(holder: AccountRole, wanted: AccountRole): boolean {
  if (holder === wanted) return true;
  const within = <T>(a: ReadonlySet<T>, b: ReadonlySet<T>) => [...a].every((p) => b.has(p));
  return (
    within(ROLE_PERMISSIONS[wanted], ROLE_PERMISSIONS[holder]) &&
    within(BANK_ROLE_PERMISSIONS[wanted], BANK_ROLE_PERMISSIONS[holder])
  );
}

/**
 * Who acts on an account or token. A plain string is a name (a username, "cli:…", "system",
 * "bootstrap-admin-token"). The object form adds `id`, the account that answers for the action
 * (the person, or for an API token caller its creator: "you cannot disable yourself" applies to
 * a person's own tokens too), and `by`, for an API token caller the username (or bootstrap
 * credential) of its creator, which every audit entry of the action carries as `details.by`.
 */
export type Actor = string | ActorRef;
export interface ActorRef {
  id: string | null;
  name: string;
  by?: string;
}

/** An audit entry of `actor`'s action: its name as the actor, and `by` (see Actor) among the details. */
export function actorEntry(actor: Actor, type: string, details: Record<string, unknown>): Omit<AuditInput, 'at'> {
  if (typeof actor === 'string') return { type, actor, details };
  return { type, actor: actor.name, details: actor.by !== undefined ? { ...details, by: actor.by } : details };
}

/** A failure a route turns into an HTTP status with a clear message. */
export class AccountError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 429,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AccountError';
  }
}

/**
 * A valid session still waiting for its second factor, presented where a signed-in one is needed
 * (401 `mfa_required`). It carries the session, so that the one route such a session may also use,
 * logout, can check its CSRF token (http/access-hook.ts, `allowPendingMfa`).
 */
export class MfaPendingError extends AccountError {
  constructor(readonly session: SessionRecord) {
    super(401, 'mfa_required', 'enter the code from your authenticator app first');
    this.name = 'MfaPendingError';
  }
}
