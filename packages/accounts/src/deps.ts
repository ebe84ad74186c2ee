/**
 * What the account core needs from its host, injected so that the core has no Fastify,
 * no database driver and no wall clock: the AccountStore, an audit sink (the hash-chained
 * audit log), a clock, and the policies.
 */
import { ROLES } from './permissions.js';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from './session-policy.js';
import type { AccountRecord, AccountRole, AccountStore } from './types.js';
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
}

export function makeDeps(o: AccountsOptions): AccountsDeps {
  return {
    store: o.store,
    audit: async (e) => void (await o.audit({ ...e, at: o.now() })),
    now: o.now,
    session: { ...DEFAULT_SESSION_POLICY, ...o.session },
    lockout: { maxFailures: 5, lockMs: 15 * 60_000, ...o.lockout },
    requireMfaForAdmins: o.requireMfaForAdmins ?? true,
    issuer: o.issuer ?? 'FinSecure',
    roles: o.roles ?? ROLES,
    unknownNames: new UnknownNameLockouts(),
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
