/**
 * Account administration (create, role, disable/enable, reset MFA, end sessions) and a
 * person's own profile (password change, TOTP enrolment, recovery codes, sessions).
 * Every change is an audit entry naming who did it and to whom.
 */
import {
  accountView,
  AccountError,
  actorEntry,
  grantsRole,
  roleChoices,
  roleCovers,
  type Actor,
  type AccountsDeps,
  type AccountView,
  type ActorRef,
} from './deps.js';
import { revokeTokensOf } from './api-tokens.js';
import { checkPasswordPolicy, hashPassword } from './password.js';
import { generateRecoveryCodes, randomId } from './secrets.js';
import { confirmPassword, sessionHandle } from './signin.js';
import { matchTotp, newTotpSecret, totpEnrolment } from './totp.js';
import type { AccountRecord, AccountRole, SessionRecord } from './types.js';
import { InvalidInputError, normaliseDisplayName, normaliseUsername } from './username.js';
import { StoreConflictError } from './errors.js';

/** A random 20-character password shown once (bootstrap and resets); must be changed. */
export function oneTimePassword(): string {
  return randomId(15);
}

function invalid(err: unknown): never {
  if (err instanceof InvalidInputError) throw new AccountError(400, 'invalid_input', err.message);
  throw err;
}

async function refuseInput(d: AccountsDeps, actor: Actor, action: string, err: unknown): Promise<never> {
  if (err instanceof InvalidInputError) {
    await d.audit(actorEntry(actor, 'input.refused', { action, reason: err.message }));
  }
  return invalid(err);
}

async function mustGet(d: AccountsDeps, id: string): Promise<AccountRecord> {
  const a = await d.store.getAccount(id);
  if (!a) throw new AccountError(404, 'not_found', `no account ${id}`);
  return a;
}

/**
 * Creates an account. Without a password a one-time password is generated and returned
 * (the person must change it at first sign-in). Errors: 400 bad input, 409 taken.
 */
export async function createAccount(
  d: AccountsDeps,
  input: { username: unknown; displayName?: unknown; role: unknown; password?: unknown },
  actor: Actor,
): Promise<{ account: AccountView; oneTimePassword?: string }> {
  let username: string;
  let displayName: string;
  let password: string;
  const generated = input.password === undefined || input.password === null || input.password === '';
  try {
    username = normaliseUsername(input.username);
    displayName = normaliseDisplayName(input.displayName, username);
    if (!grantsRole(d, input.role)) throw new InvalidInputError('role', roleChoices(d));
    password = generated ? oneTimePassword() : checkPasswordPolicy(input.password, [username, displayName]);
  } catch (err) {
    return refuseInput(d, actor, 'user.create', err);
  }
  const now = d.now();
  const account: AccountRecord = {
    id: `u_${randomId(9)}`,
    username,
    displayName,
    role: input.role,
    passwordHash: await hashPassword(password),
    mustChangePassword: generated,
    totpSecret: null,
    totpEnabledAt: null,
    totpLastStep: null,
    createdAt: now,
    lastLoginAt: null,
    disabledAt: null,
    failedLogins: 0,
    lockedUntil: null,
  };
  try {
    await d.store.createAccount(account);
  } catch (err) {
    if (err instanceof StoreConflictError) throw new AccountError(409, 'exists', `username ${username} is taken`);
    throw err;
  }
  await d.audit(actorEntry(actor, 'user.created', { user: username, role: account.role }));
  return { account: accountView(account, now), ...(generated ? { oneTimePassword: password } : {}) };
}

export async function listAccounts(d: AccountsDeps): Promise<AccountView[]> {
  const now = d.now();
  return (await d.store.listAccounts()).map((a) => accountView(a, now));
}

/** Finds an account by id or username (CLI convenience). */
export async function findAccount(d: AccountsDeps, idOrName: string): Promise<AccountRecord> {
  const byId = await d.store.getAccount(idOrName);
  if (byId) return byId;
  let name: string;
  try {
    name = normaliseUsername(idOrName);
  } catch (err) {
    return invalid(err);
  }
  const a = await d.store.getAccountByUsername(name);
  if (!a) throw new AccountError(404, 'not_found', `no account ${name}`);
  return a;
}

/**
 * Role, display name, disabled flag. Changing your own role or disabling yourself is refused, also
 * through one of your own API tokens (`actor.id` is then the token's creator): a token must not
 * lift its own ceiling. Disabling a person revokes their API tokens as well as ending their
 * sessions, and a new role revokes those of their tokens that carry more than it (a token never
 * carries more than its creator now has; api-tokens.ts refuses them anyway, revoking makes it
 * permanent and visible): the entries say which.
 */
export async function updateAccount(
  d: AccountsDeps,
  id: string,
  patch: { role?: unknown; displayName?: unknown; disabled?: unknown },
  actor: ActorRef,
): Promise<AccountView> {
  const a = await mustGet(d, id);
  if (actor.id === a.id && (patch.role !== undefined || patch.disabled === true)) {
    throw new AccountError(409, 'self', 'you cannot change your own role or disable yourself');
  }
  if (patch.role !== undefined && !grantsRole(d, patch.role)) {
    return refuseInput(d, actor, 'user.update', new InvalidInputError('role', roleChoices(d)));
  }
  let displayName = a.displayName;
  try {
    if (patch.displayName !== undefined) displayName = normaliseDisplayName(patch.displayName, a.displayName);
  } catch (err) {
    return refuseInput(d, actor, 'user.update', err);
  }
  const now = d.now();
  const next: Partial<AccountRecord> = { displayName };
  // The change is stored before it is audited: whoever acts on an entry (the live stream looks
  // its callers up again after one) must read the new role or state, not the old.
  const entries: { type: string; details: Record<string, unknown> }[] = [];
  const disabling = patch.disabled === true && a.disabledAt === null;
  let roleChanged: Record<string, unknown> | null = null;
  if (patch.role !== undefined && patch.role !== a.role) {
    next.role = patch.role as AccountRole;
    roleChanged = { user: a.username, from: a.role, to: patch.role };
    entries.push({ type: 'user.role_changed', details: roleChanged });
  }
  let disabled: Record<string, unknown> | null = null;
  if (disabling) {
    next.disabledAt = now;
    disabled = { user: a.username };
    entries.push({ type: 'user.disabled', details: disabled });
  } else if (patch.disabled === false && a.disabledAt !== null) {
    next.disabledAt = null;
    next.failedLogins = 0;
    next.lockedUntil = null;
    entries.push({ type: 'user.enabled', details: { user: a.username } });
  }
  if (displayName !== a.displayName) {
    entries.push({ type: 'user.renamed', details: { user: a.username, displayName } });
  }
  await d.store.updateAccount(a.id, next);
  if (disabled) {
    disabled.sessionsEnded = await d.store.deleteSessionsOf(a.id);
    disabled.tokensRevoked = await revokeTokensOf(d, a.id, () => true);
  } else if (roleChanged) {
    const role = next.role!;
    const revoked = await revokeTokensOf(d, a.id, (t) => !roleCovers(role, t.role));
    if (revoked.length) roleChanged.tokensRevoked = revoked;
  }
  for (const e of entries) await d.audit(actorEntry(actor, e.type, e.details));
  return accountView({ ...a, ...next }, now);
}

/** Removes TOTP and recovery codes and ends the person's sessions (lost phone). */
export async function resetMfa(d: AccountsDeps, id: string, actor: Actor): Promise<void> {
  const a = await mustGet(d, id);
  await d.store.updateAccount(a.id, { totpSecret: null, totpEnabledAt: null, totpLastStep: null });
  await d.store.setRecoveryCodes(a.id, []);
  await d.store.deleteSessionsOf(a.id);
  await d.audit(actorEntry(actor, 'user.mfa_reset', { user: a.username }));
}

/** Sets a new one-time password (returned, shown once) and ends every session. */
export async function resetPassword(d: AccountsDeps, id: string, actor: Actor): Promise<string> {
  const a = await mustGet(d, id);
  const password = oneTimePassword();
  await d.store.updateAccount(a.id, {
    passwordHash: await hashPassword(password),
    mustChangePassword: true,
    failedLogins: 0,
    lockedUntil: null,
  });
  await d.store.deleteSessionsOf(a.id);
  await d.audit(actorEntry(actor, 'user.password_reset', { user: a.username }));
  return password;
}

export async function endSessionsOf(d: AccountsDeps, id: string, actor: Actor): Promise<number> {
  const a = await mustGet(d, id);
  const n = await d.store.deleteSessionsOf(a.id);
  await d.audit(actorEntry(actor, 'user.sessions_ended', { user: a.username, sessions: n }));
  return n;
}

/**
 * Own password change: checks the current one (a wrong one counts towards the lockout, see
 * confirmPassword), ends every other session.
 */
export async function changePassword(
  d: AccountsDeps,
  a: AccountRecord,
  input: { current: unknown; next: unknown },
  keepSession: string | undefined,
): Promise<void> {
  await confirmPassword(d, a, input.current, 'user.password_change_failed', 'the current password is wrong');
  let next: string;
  try {
    next = checkPasswordPolicy(input.next, [a.username, a.displayName]);
  } catch (err) {
    return refuseInput(d, a.username, 'user.password_change', err);
  }
  if (input.next === input.current)
    throw new AccountError(400, 'invalid_input', 'password: must differ from the current one');
  await d.store.updateAccount(a.id, { passwordHash: await hashPassword(next), mustChangePassword: false });
  const ended = await d.store.deleteSessionsOf(a.id, keepSession);
  await d.audit({ type: 'user.password_changed', actor: a.username, details: { otherSessionsEnded: ended } });
}

/**
 * Starts TOTP enrolment: the secret waits in the session until a code confirms it. Replacing a
 * second factor already in use (a new phone) needs the password too (confirmPassword): otherwise
 * a stolen session could move the account's second factor to the thief's phone.
 * @throws AccountError 401 `password_required` / `bad_credentials`, 429 `locked`
 */
export async function beginTotp(
  d: AccountsDeps,
  a: AccountRecord,
  sessionHash: string,
  input: { password?: unknown } = {},
): Promise<{ uri: string; qrDataUrl: string; secret: string }> {
  if (a.totpEnabledAt !== null) {
    if (input.password === undefined)
      throw new AccountError(
        401,
        'password_required',
        'you already use an authenticator app: enter your password to move it to a new one',
      );
    await confirmPassword(d, a, input.password, 'user.mfa_enrol_failed', 'the password is wrong');
  }
  const secret = newTotpSecret();
  await d.store.updateSession(sessionHash, { pendingTotpSecret: secret });
  return { ...(await totpEnrolment(secret, d.issuer, a.username)), secret };
}

/**
 * Confirms enrolment with a code from the app; returns ten recovery codes (shown once). A
 * replaced second factor ends the person's other sessions.
 */
export async function confirmTotp(
  d: AccountsDeps,
  a: AccountRecord,
  session: SessionRecord,
  code: unknown,
): Promise<{ recoveryCodes: string[] }> {
  const secret = session.pendingTotpSecret;
  if (!secret) throw new AccountError(409, 'no_enrolment', 'start the enrolment first (a new QR code)');
  const step = typeof code === 'string' ? await matchTotp(secret, code.trim(), d.now()) : null;
  if (step === null) {
    await d.audit({ type: 'user.mfa_enrol_failed', actor: a.username, details: { reason: 'wrong code' } });
    throw new AccountError(
      400,
      'invalid_code',
      'that code does not match: check the time on your phone and try the next one',
    );
  }
  const { codes, hashes } = generateRecoveryCodes();
  const replaced = a.totpEnabledAt !== null;
  await d.store.updateAccount(a.id, { totpSecret: secret, totpEnabledAt: d.now(), totpLastStep: step });
  await d.store.setRecoveryCodes(a.id, hashes);
  await d.store.updateSession(session.idHash, { pendingTotpSecret: null });
  // A second factor moved to a new phone: every other session ends, as at a password change.
  const ended = replaced ? await d.store.deleteSessionsOf(a.id, session.idHash) : 0;
  // An enrolment another session started while there was no second factor (so without the
  // password) must not replace this one later: its waiting secret is dropped.
  if (!replaced)
    for (const other of await d.store.listSessionsOf(a.id))
      if (other.idHash !== session.idHash && other.pendingTotpSecret !== null)
        await d.store.updateSession(other.idHash, { pendingTotpSecret: null });
  await d.audit({
    type: 'user.mfa_enrolled',
    actor: a.username,
    details: { method: 'totp', ...(replaced ? { replaced: true, otherSessionsEnded: ended } : {}) },
  });
  return { recoveryCodes: codes };
}

export interface SessionView {
  handle: string;
  current: boolean;
  createdAt: number;
  lastSeenAt: number;
  userAgent: string;
  ip: string;
}

export async function listOwnSessions(
  d: AccountsDeps,
  a: AccountRecord,
  currentHash: string | null,
): Promise<SessionView[]> {
  return (await d.store.listSessionsOf(a.id))
    .filter((s) => s.stage === 'active')
    .map((s) => ({
      handle: sessionHandle(s),
      current: s.idHash === currentHash,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      userAgent: s.userAgent,
      ip: s.ip,
    }));
}

export async function endOwnSession(d: AccountsDeps, a: AccountRecord, handle: string): Promise<void> {
  const s = (await d.store.listSessionsOf(a.id)).find((x) => sessionHandle(x) === handle);
  if (!s) throw new AccountError(404, 'not_found', 'no such session (it may have ended already)');
  await d.store.deleteSession(s.idHash);
  await d.audit({ type: 'user.session_ended', actor: a.username, details: { createdAt: s.createdAt } });
}
