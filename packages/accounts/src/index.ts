/**
 * People: accounts, passwords, TOTP, sessions, API tokens and the role matrices, shared by
 * the aggregator and the bank console. The core depends only on an AccountStore, an audit
 * sink and a clock (see deps.ts); SqliteAccountStore implements the store over a
 * better-sqlite3 database. The Fastify wiring lives in each server (the aggregator's
 * server/plugins, the bank client's console/), but for the sign-in routes both serve alike:
 * `@finsecure/accounts/http` (signInRoutes).
 */
import { createApiToken, listApiTokens, revokeApiToken, authenticateApiToken } from './api-tokens.js';
import { ensureFirstAdmin } from './bootstrap.js';
import { makeDeps, type AccountsDeps, type AccountsOptions } from './deps.js';
import * as manage from './manage.js';
import * as signin from './signin.js';

export * from './deps.js';
export * from './permissions.js';
export * from './bank-permissions.js';
export * from './access.js';
export { StoreConflictError } from './errors.js';
export { SqliteAccountStore, ACCOUNTS_MIGRATION_SQL } from './sqlite-store.js';
export * from './types.js';
export {
  API_TOKEN_PREFIX,
  BOOTSTRAP_CREATORS,
  type ApiTokenView,
  type AuthenticatedToken,
  type TokenCreator,
} from './api-tokens.js';
export { RejectedSessionLog, type Timers } from './rejected-sessions.js';
export { addressKey } from './address.js';
export type { FirstAdmin } from './bootstrap.js';
export type { SessionView } from './manage.js';
export type { Authenticated, ClientInfo, IssuedSession } from './signin.js';
export { auditNameTag } from './signin.js';
export { DEFAULT_SESSION_POLICY, sessionVerdict, type SessionPolicy } from './session-policy.js';
export { checkPasswordPolicy, hashPassword, verifyPassword, PASSWORD_MIN, PASSWORD_MAX } from './password.js';
export { normaliseUsername, normaliseDisplayName, InvalidInputError } from './username.js';
export { sha256Hex, secretMatches, generateRecoveryCodes, hashRecoveryCode } from './secrets.js';
export { matchTotp, newTotpSecret } from './totp.js';
export { UnknownNameLockouts, MAX_UNKNOWN_NAMES } from './unknown-names.js';

type Rest<F> = F extends (d: AccountsDeps, ...args: infer A) => infer R ? (...args: A) => R : never;
function bind<F extends (d: AccountsDeps, ...args: never[]) => unknown>(d: AccountsDeps, f: F): Rest<F> {
  return ((...args: never[]) => f(d, ...args)) as Rest<F>;
}

/** The account core bound to its dependencies: one object per server. */
export function createAccounts(options: AccountsOptions) {
  const d = makeDeps(options);
  return {
    deps: d,
    login: bind(d, signin.login),
    verifyMfa: bind(d, signin.verifyMfa),
    authenticateSession: bind(d, signin.authenticateSession),
    logout: bind(d, signin.logout),
    createAccount: bind(d, manage.createAccount),
    listAccounts: bind(d, manage.listAccounts),
    findAccount: bind(d, manage.findAccount),
    updateAccount: bind(d, manage.updateAccount),
    resetMfa: bind(d, manage.resetMfa),
    resetPassword: bind(d, manage.resetPassword),
    endSessionsOf: bind(d, manage.endSessionsOf),
    changePassword: bind(d, manage.changePassword),
    beginTotp: bind(d, manage.beginTotp),
    confirmTotp: bind(d, manage.confirmTotp),
    listOwnSessions: bind(d, manage.listOwnSessions),
    endOwnSession: bind(d, manage.endOwnSession),
    createApiToken: bind(d, createApiToken),
    listApiTokens: bind(d, listApiTokens),
    revokeApiToken: bind(d, revokeApiToken),
    authenticateApiToken: bind(d, authenticateApiToken),
    ensureFirstAdmin: bind(d, ensureFirstAdmin),
    /** Writes the summaries of coalesced audit entries still counting (call at shutdown). */
    drainAudit: async () => void (await Promise.all([d.rejectedSessions.drain(), d.refusedActions.drain()])),
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
