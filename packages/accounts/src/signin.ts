/**
 * Sign-in: password, then (when enrolled) a TOTP or recovery code; session lookup with
 * idle and absolute expiry; logout. Failures count towards a lockout; every outcome is
 * an audit entry naming the person (never the password, code or session id).
 */
import { createHmac } from 'node:crypto';
import { AccountError, MfaPendingError, setupRequired, type AccountsDeps } from './deps.js';
import { dummyPasswordHash, verifyPassword } from './password.js';
import { hashRecoveryCode, randomId, sha256Hex } from './secrets.js';
import { sessionVerdict } from './session-policy.js';
import { matchTotp } from './totp.js';
import type { AccountRecord, SessionRecord, SessionStage } from './types.js';
import { InvalidInputError, normaliseUsername } from './username.js';

export interface ClientInfo {
  ip: string;
  userAgent: string;
}

export interface IssuedSession {
  /** The opaque id for the cookie; only its sha256 is stored. */
  sessionId: string;
  /** The CSRF token the client echoes in X-CSRF-Token; only its sha256 is stored. */
  csrfToken: string;
  session: SessionRecord;
  account: AccountRecord;
}

/**
 * What the audit log says for a username that is not an account: `unknown-user:<length>:<tag>`,
 * the tag the first 12 hex digits of an HMAC-SHA256 of the name as typed under a key that is never
 * stored (AccountsDeps.auditNameKey, random per process by default). A name that is not an account
 * is often a password typed into the username field, which the audit log must not keep; the tag
 * still shows the same wrong name tried again and again (within a run), and the length tells a
 * typo from a pasted password. Without the key, a dictionary cannot turn a tag back into the name.
 */
export function auditNameTag(d: Pick<AccountsDeps, 'auditNameKey'>, name: unknown): string {
  const text = typeof name === 'string' ? name : String(name);
  const tag = createHmac('sha256', d.auditNameKey).update(text, 'utf8').digest('hex').slice(0, 12);
  return `unknown-user:${text.length}:${tag}`;
}

export async function issueSession(
  d: AccountsDeps,
  account: AccountRecord,
  stage: SessionStage,
  client: ClientInfo,
): Promise<IssuedSession> {
  const sessionId = randomId(32);
  const csrfToken = randomId(32);
  const now = d.now();
  const session: SessionRecord = {
    idHash: sha256Hex(sessionId),
    accountId: account.id,
    stage,
    csrfHash: sha256Hex(csrfToken),
    createdAt: now,
    lastSeenAt: now,
    pendingTotpSecret: null,
    userAgent: client.userAgent.slice(0, 200),
    ip: client.ip.slice(0, 64),
  };
  await d.store.createSession(session);
  return { sessionId, csrfToken, session, account };
}

/**
 * Counts a failed password or code towards the account's lockout, audited as `type` with
 * `details` and the count; at the limit the account is locked (`auth.locked`). The count is read
 * fresh from the store; callers run it inside the account's queue (perAccount), so parallel
 * failures each count.
 */
async function countFailureNow(
  d: AccountsDeps,
  a: AccountRecord,
  type: string,
  details: Record<string, unknown>,
): Promise<void> {
  const fresh = (await d.store.getAccount(a.id)) ?? a;
  const failures = fresh.failedLogins + 1;
  const lock = failures >= d.lockout.maxFailures;
  const lockedUntil = lock ? d.now() + d.lockout.lockMs : fresh.lockedUntil;
  await d.store.updateAccount(a.id, { failedLogins: lock ? 0 : failures, lockedUntil });
  await d.audit({ type, actor: a.username, details: { ...details, failures } });
  if (lock) {
    await d.audit({
      type: 'auth.locked',
      actor: a.username,
      details: { ...('ip' in details ? { ip: details.ip } : {}), until: lockedUntil, after: failures },
    });
  }
}

/** Work on one account, one at a time within this process (its lockout count; its password checks). */
const accountQueues = new Map<string, Promise<unknown>>();
async function perAccount<T>(accountId: string, work: () => Promise<T>): Promise<T> {
  const run = (accountQueues.get(accountId) ?? Promise.resolve()).then(work);
  const tail = run.catch(() => {});
  accountQueues.set(accountId, tail);
  try {
    return await run;
  } finally {
    if (accountQueues.get(accountId) === tail) accountQueues.delete(accountId);
  }
}

/**
 * The password again, from a signed-in person about to change a credential (their password, their
 * second factor): a stolen session alone must not be enough, nor a way to guess the password
 * without limit. A wrong one counts towards the same lockout as a failed sign-in, and a locked
 * account is refused (429) whatever is sent.
 * @param auditType the entry a wrong password writes (`user.password_change_failed`, `user.mfa_enrol_failed`)
 * @throws AccountError 401 `bad_credentials` (wrong or missing), 429 `locked`
 */
export async function confirmPassword(
  d: AccountsDeps,
  a: AccountRecord,
  password: unknown,
  auditType: string,
  message: string,
): Promise<void> {
  // One check at a time per account, on its stored state: parallel guesses cannot all be
  // hashed before the first failures lock the account.
  const wrong = await perAccount(a.id, async () => {
    const fresh = (await d.store.getAccount(a.id)) ?? a;
    checkLocked(d, fresh);
    // At most the routes' 4,096 characters: a longer string is wrong without spending a hash on it.
    const ok =
      typeof password === 'string' &&
      password.length <= 4096 &&
      fresh.passwordHash !== null &&
      (await verifyPassword(fresh.passwordHash, password));
    if (ok) {
      if (fresh.failedLogins > 0) await d.store.updateAccount(a.id, { failedLogins: 0 });
      return false;
    }
    await countFailureNow(d, fresh, auditType, { reason: 'wrong current password' });
    return true;
  });
  if (wrong) throw new AccountError(401, 'bad_credentials', message);
}

function checkLocked(d: AccountsDeps, a: Pick<AccountRecord, 'lockedUntil'>): void {
  if (a.lockedUntil !== null && a.lockedUntil > d.now()) {
    const minutes = Math.ceil((a.lockedUntil - d.now()) / 60_000);
    throw new AccountError(
      429,
      'locked',
      `too many failed sign-ins: this account is locked for ${minutes} more minute(s)`,
    );
  }
}

/**
 * Step 1. Returns a session: `active`, or `mfa` when a second factor is enrolled (that
 * session can only call verifyMfa). Errors: 400 invalid username (audited), 401 bad
 * credentials, 429 locked.
 */
export async function login(
  d: AccountsDeps,
  input: { username: unknown; password: unknown },
  client: ClientInfo,
): Promise<IssuedSession> {
  let username: string;
  try {
    username = normaliseUsername(input.username);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    // An invalid name is no account's: only its tag is kept (auditNameTag).
    await d.audit({
      type: 'auth.login_refused',
      actor: 'anonymous',
      details: { ip: client.ip, username: auditNameTag(d, input.username), reason: err.message },
    });
    throw new AccountError(400, 'invalid_username', err.message);
  }
  const password = typeof input.password === 'string' ? input.password : '';
  const found = await d.store.getAccountByUsername(username);
  if (!found || found.passwordHash === null)
    return unknownName(d, username, found ? username : auditNameTag(d, username), password, client);
  // One check at a time per account, on its stored state (as confirmPassword): parallel guesses
  // cannot all be hashed before the first failures lock the account.
  const account = await perAccount(found.id, async () => {
    const fresh = (await d.store.getAccount(found.id)) ?? found;
    checkLocked(d, fresh);
    if (fresh.passwordHash !== null && password.length <= 4096 && (await verifyPassword(fresh.passwordHash, password)))
      return fresh;
    await countFailureNow(d, fresh, 'auth.login_failed', { ip: client.ip, reason: 'wrong password' });
    return null;
  });
  if (!account) throw new AccountError(401, 'bad_credentials', 'wrong username, password or code');
  // Told only to whoever has the right password: the person, who needs to know whom to ask.
  if (account.disabledAt !== null) {
    await d.audit({ type: 'auth.login_failed', actor: username, details: { ip: client.ip, reason: 'disabled' } });
    throw new AccountError(403, 'disabled', 'this account is disabled; ask an administrator');
  }
  await d.store.purgeSessions(d.now() - d.session.idleMs, d.now() - d.session.absoluteMs);
  if (account.totpSecret !== null) {
    await d.audit({ type: 'auth.password_ok', actor: username, details: { ip: client.ip, next: 'totp' } });
    return issueSession(d, account, 'mfa', client);
  }
  await completeLogin(d, account, client, 'password');
  return issueSession(d, account, 'active', client);
}

/**
 * A sign-in to a name without an account (or without a password): refused with a wrong
 * password's answer, after the same hashing work, counted and locked like an account
 * (unknown-names.ts) so that a lockout does not tell the two apart; one at a time per name.
 * @param actor what the audit log calls the name: the username of an account without a password,
 *   the tag of a name that is no account (auditNameTag)
 */
async function unknownName(
  d: AccountsDeps,
  username: string,
  actor: string,
  password: string,
  client: ClientInfo,
): Promise<never> {
  await perAccount(`unknown:${username}`, async () => {
    const until = d.unknownNames.lockedUntil(username, d.now());
    if (until !== null) checkLocked(d, { lockedUntil: until });
    await verifyPassword(await dummyPasswordHash(), password.slice(0, 4096)); // same time as a real check
    const { failures, locked } = d.unknownNames.fail(username, d.now(), d.lockout);
    await d.audit({
      type: 'auth.login_failed',
      actor,
      details: { ip: client.ip, reason: 'unknown user', failures },
    });
    if (locked)
      await d.audit({
        type: 'auth.locked',
        actor,
        details: { ip: client.ip, until: d.now() + d.lockout.lockMs, after: failures, unknownUser: true },
      });
  });
  throw new AccountError(401, 'bad_credentials', 'wrong username, password or code');
}

async function completeLogin(d: AccountsDeps, a: AccountRecord, client: ClientInfo, method: string): Promise<void> {
  await d.store.updateAccount(a.id, { failedLogins: 0, lockedUntil: null, lastLoginAt: d.now() });
  const setup = setupRequired(d, a);
  await d.audit({
    type: 'auth.login',
    actor: a.username,
    details: { ip: client.ip, method, ...(setup ? { mustSetUp: setup } : {}) },
  });
}

/**
 * Step 2: a 6-digit TOTP code (RFC 6238, replay-protected) or a recovery code. The
 * pending session is replaced by a new one (new id: no session fixation).
 */
export async function verifyMfa(
  d: AccountsDeps,
  sessionId: string | undefined,
  code: unknown,
  client: ClientInfo,
): Promise<IssuedSession> {
  const pending = sessionId ? await d.store.getSession(sha256Hex(sessionId)) : null;
  if (!pending || pending.stage !== 'mfa' || !sessionVerdict(pending, d.now(), d.session).ok) {
    throw new AccountError(401, 'no_pending_login', 'sign in with your password first (or again: it took too long)');
  }
  const account = await d.store.getAccount(pending.accountId);
  if (!account || account.totpSecret === null || account.disabledAt !== null) {
    await d.store.deleteSession(pending.idHash);
    throw new AccountError(401, 'no_pending_login', 'sign in with your password first');
  }
  const text = typeof code === 'string' ? code.trim() : '';
  if (text.length > 64) {
    checkLocked(d, account);
    await d.audit({
      type: 'auth.mfa_refused',
      actor: account.username,
      details: { ip: client.ip, reason: 'over-long code' },
    });
    throw new AccountError(400, 'invalid_code', 'code: longer than 64 characters');
  }
  // One code at a time per account, on its stored state (as login): a burst of guesses cannot all
  // pass the lock check before the first failures are counted (auth review).
  const method = await perAccount(account.id, async (): Promise<string | null> => {
    const fresh = (await d.store.getAccount(account.id)) ?? account;
    checkLocked(d, fresh);
    if (fresh.totpSecret === null || fresh.disabledAt !== null) {
      throw new AccountError(401, 'no_pending_login', 'sign in with your password first');
    }
    if (/^\d{6}$/.test(text)) {
      const step = await matchTotp(fresh.totpSecret, text, d.now());
      if (step === null) {
        await countFailureNow(d, fresh, 'auth.login_failed', { ip: client.ip, reason: 'wrong TOTP code' });
        return null;
      }
      if (!(await d.store.advanceTotpStep(account.id, step))) {
        await d.audit({
          type: 'auth.mfa_replay',
          actor: account.username,
          details: { ip: client.ip, reason: 'TOTP code already used' },
        });
        throw new AccountError(401, 'code_reused', 'this code was already used: wait for the next one');
      }
      return 'password+totp';
    }
    if (!(await d.store.useRecoveryCode(account.id, hashRecoveryCode(text)))) {
      await countFailureNow(d, fresh, 'auth.login_failed', { ip: client.ip, reason: 'wrong recovery code' });
      return null;
    }
    const left = await d.store.countRecoveryCodes(account.id);
    await d.audit({ type: 'auth.recovery_code_used', actor: account.username, details: { ip: client.ip, left } });
    return 'password+recovery-code';
  });
  if (method === null) throw new AccountError(401, 'bad_credentials', 'wrong username, password or code');
  await d.store.deleteSession(pending.idHash);
  await completeLogin(d, account, client, method);
  return issueSession(d, account, 'active', client);
}

export type Authenticated = { account: AccountRecord; session: SessionRecord; expiresAt: number };

/**
 * The account behind a session cookie, or an AccountError(401) saying why not (a session still
 * waiting for its second factor: MfaPendingError). An unknown id (ended, expired and purged, or
 * forged) is audited: a cookie replayed after logout shows up in the log (unless `quiet`). Anyone
 * can send one without signing in, so these entries are coalesced per client address and window
 * (rejected-sessions.ts): the first is written, the repeats are counted into one summary.
 * `activity` extends the idle timer (user actions do; background polling does not).
 */
export async function authenticateSession(
  d: AccountsDeps,
  sessionId: string,
  opts: { activity: boolean; stage?: SessionStage; client: ClientInfo; quiet?: boolean },
): Promise<Authenticated> {
  const idHash = sha256Hex(sessionId);
  const session = await d.store.getSession(idHash);
  if (!session) {
    // `quiet`: a re-check of a session that was valid when first presented (a live stream's),
    // which ending it (a logout, say) made unknown: not a replayed cookie worth an entry.
    if (opts.quiet) throw new AccountError(401, 'session_ended', 'your session has ended; sign in again');
    await d.rejectedSessions.record(opts.client.ip, 'unknown or ended session');
    throw new AccountError(401, 'session_ended', 'your session has ended; sign in again');
  }
  const account = await d.store.getAccount(session.accountId);
  const verdict = sessionVerdict(session, d.now(), d.session);
  if (!verdict.ok || !account || account.disabledAt !== null) {
    await d.store.deleteSession(idHash);
    const reason = !verdict.ok ? `${verdict.reason} timeout` : 'account disabled';
    if (account) await d.audit({ type: 'auth.session_expired', actor: account.username, details: { reason } });
    throw new AccountError(401, 'session_ended', `your session has ended (${reason}); sign in again`);
  }
  if ((opts.stage ?? 'active') !== session.stage) throw new MfaPendingError(session);
  if (opts.activity) {
    const now = d.now();
    await d.store.updateSession(idHash, { lastSeenAt: now });
    session.lastSeenAt = now;
  }
  const again = sessionVerdict(session, d.now(), d.session);
  return { account, session, expiresAt: again.ok ? again.expiresAt : d.now() };
}

/** Ends one session server-side, signed in or still waiting for its second factor: the cookie is worthless afterwards. */
export async function logout(d: AccountsDeps, sessionId: string): Promise<void> {
  const idHash = sha256Hex(sessionId);
  const session = await d.store.getSession(idHash);
  if (!session) return;
  await d.store.deleteSession(idHash);
  const account = await d.store.getAccount(session.accountId);
  if (account) await d.audit({ type: 'auth.logout', actor: account.username, details: {} });
}

/** A stable, non-secret handle of a session for listing and ending it (not its id). */
export function sessionHandle(s: SessionRecord): string {
  return sha256Hex(`handle:${s.idHash}`).slice(0, 20);
}
