/**
 * Records and the storage boundary of people (accounts), their sessions, API tokens for
 * automation and MFA recovery codes. The account core (this folder) depends only on
 * `AccountStore`; the aggregator's SQLite and MongoDB stores implement it, and the bank
 * console can implement it over its own database.
 *
 * Secrets are never stored in clear: passwords as argon2id PHC strings, session ids,
 * API tokens, CSRF tokens and recovery codes as sha256 hex (they are 128+ bit random,
 * so there is nothing to guess and stretching would add nothing). The TOTP secret is the
 * exception: RFC 6238 needs it to compute codes.
 */
import type { BankRole } from './bank-permissions.js';
import type { Role } from './permissions.js';

/**
 * Every role name FinSecure knows: the consortium's (aggregator) and the bank console's.
 * Each server grants a subset (AccountsOptions.roles) and has its own permission table.
 */
export type AccountRole = Role | BankRole;

export interface AccountRecord {
  /** Random, stable; usernames can be renamed without breaking references. */
  id: string;
  /** NFKC-normalised, lower-case, ASCII (see username.ts). Unique. */
  username: string;
  displayName: string;
  role: AccountRole;
  /** argon2id PHC string; null until a password is set. */
  passwordHash: string | null;
  /** Set for bootstrap and reset passwords: the session can only change the password. */
  mustChangePassword: boolean;
  /** Base32 TOTP secret; null when MFA is not enrolled. Pending enrolments live in the session. */
  totpSecret: string | null;
  totpEnabledAt: number | null;
  /** Last accepted RFC 6238 time step: a code for this step or earlier is a replay. */
  totpLastStep: number | null;
  createdAt: number;
  lastLoginAt: number | null;
  disabledAt: number | null;
  /** Consecutive failed logins (password or second factor); reset by a success. */
  failedLogins: number;
  /** Epoch ms until which logins are refused (lockout), or null. */
  lockedUntil: number | null;
}

/** Which step of sign-in a session has reached. */
export type SessionStage = 'mfa' | 'active';

export interface SessionRecord {
  /** sha256 hex of the opaque id in the cookie. */
  idHash: string;
  accountId: string;
  stage: SessionStage;
  /** sha256 hex of the session's CSRF token (sent back in X-CSRF-Token). */
  csrfHash: string;
  createdAt: number;
  lastSeenAt: number;
  /** TOTP secret offered for enrolment and not yet confirmed (null otherwise). */
  pendingTotpSecret: string | null;
  userAgent: string;
  ip: string;
}

export interface ApiTokenRecord {
  id: string;
  name: string;
  role: AccountRole;
  /** sha256 hex of the token. */
  tokenHash: string;
  /** Account id of the person who created it. */
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export type AccountPatch = Partial<Omit<AccountRecord, 'id' | 'createdAt'>>;

export interface AccountStore {
  /** Throws StoreConflictError when the id or username exists. */
  createAccount(account: AccountRecord): Promise<void>;
  getAccount(id: string): Promise<AccountRecord | null>;
  getAccountByUsername(username: string): Promise<AccountRecord | null>;
  /** Oldest first. */
  listAccounts(): Promise<AccountRecord[]>;
  countAccounts(): Promise<number>;
  /** false if unknown. */
  updateAccount(id: string, patch: AccountPatch): Promise<boolean>;
  /**
   * Records `step` as the last accepted TOTP step only if it is later than the stored
   * one; false otherwise (a replay). Atomic, so two requests with one code cannot both win.
   */
  advanceTotpStep(id: string, step: number): Promise<boolean>;

  createSession(session: SessionRecord): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | null>;
  updateSession(idHash: string, patch: Partial<Omit<SessionRecord, 'idHash' | 'accountId'>>): Promise<boolean>;
  deleteSession(idHash: string): Promise<boolean>;
  /** Deletes every session of the account except `keep`; returns how many. */
  deleteSessionsOf(accountId: string, keep?: string): Promise<number>;
  /** Oldest first. */
  listSessionsOf(accountId: string): Promise<SessionRecord[]>;
  /** Removes sessions idle since before `idleBefore` or created before `createdBefore`. */
  purgeSessions(idleBefore: number, createdBefore: number): Promise<number>;

  /** Replaces the account's recovery codes by these hashes. */
  setRecoveryCodes(accountId: string, codeHashes: string[]): Promise<void>;
  /** Consumes the code if present (true once, then false). */
  useRecoveryCode(accountId: string, codeHash: string): Promise<boolean>;
  countRecoveryCodes(accountId: string): Promise<number>;

  createApiToken(token: ApiTokenRecord): Promise<void>;
  getApiTokenByHash(tokenHash: string): Promise<ApiTokenRecord | null>;
  /** Oldest first. */
  listApiTokens(): Promise<ApiTokenRecord[]>;
  revokeApiToken(id: string, at: number): Promise<boolean>;
  touchApiToken(id: string, at: number): Promise<void>;
}
