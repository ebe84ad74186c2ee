/**
 * Named API tokens for automation: scoped to a role, hashed (sha256 of 256 random
 * bits), expiring (at most a year) and revocable. The token is returned once, at
 * creation. Presented as "Authorization: Bearer fsk_…".
 *
 * A token answers to whoever created it (`createdBy`): a person's account id, or, for a token
 * made with a bootstrap credential (FINSECURE_ADMIN_TOKEN: no person behind it), that
 * credential's audit name, "bootstrap-admin-token". A token made by another token answers to that
 * token's creator. A token never carries more than its creator now has: it is refused while the
 * person is disabled or holds a role that does not cover the token's (deps.ts roleCovers), so a
 * token cannot outlive its creator's rights, nor be used to give them back. Disabling a person
 * also revokes their tokens (manage.ts updateAccount). Tokens made with a bootstrap credential
 * keep working as before, within that credential's role, until revoked or expired: the
 * credential itself is the operator's, outside the accounts. A token whose creator cannot be found
 * is refused: before tokens answered to their creator, one made by another token recorded that
 * token's name ("token:<name>") as its creator, and such a token must be made again.
 */
import {
  AccountError,
  actorEntry,
  grantsRole,
  roleChoices,
  roleCovers,
  type AccountsDeps,
  type ActorRef,
} from './deps.js';
import { randomId, sha256Hex } from './secrets.js';
import type { AccountRole, ApiTokenRecord } from './types.js';
import { InvalidInputError, normaliseDisplayName } from './username.js';

export const API_TOKEN_PREFIX = 'fsk_';
export const MAX_TOKEN_DAYS = 365;
const DAY = 86_400_000;

export type ApiTokenView = Omit<ApiTokenRecord, 'tokenHash'>;

/**
 * The audit names of the bootstrap credentials (the aggregator's FINSECURE_ADMIN_TOKEN and
 * FINSECURE_VIEWER_TOKEN) and the role each stands for: what a token they created may carry at most.
 * The viewer credential reads everything (the auditor's permissions) and cannot create tokens.
 */
export const BOOTSTRAP_CREATORS: Readonly<Record<string, AccountRole>> = {
  'bootstrap-admin-token': 'admin',
  'bootstrap-viewer-token': 'auditor',
};

/** Who answers for a token: the person (account id, username, current role) or a bootstrap credential. */
export interface TokenCreator {
  /** Account id, or the bootstrap credential's name. */
  id: string;
  /** Username, or the bootstrap credential's name. */
  name: string;
  role: AccountRole;
  /** Disabled person: nothing they created may act. */
  disabled: boolean;
}

/** The live token record for a presented bearer token, with who answers for it. */
export interface AuthenticatedToken {
  token: ApiTokenRecord;
  creator: TokenCreator;
}

/** `createdBy` looked up: a person, a bootstrap credential, or null (unknown: the token is refused). */
async function creatorOf(d: AccountsDeps, createdBy: string): Promise<TokenCreator | null> {
  const a = await d.store.getAccount(createdBy);
  if (a) return { id: a.id, name: a.username, role: a.role, disabled: a.disabledAt !== null };
  const role = Object.hasOwn(BOOTSTRAP_CREATORS, createdBy) ? BOOTSTRAP_CREATORS[createdBy] : undefined;
  return role ? { id: createdBy, name: createdBy, role, disabled: false } : null;
}

function view(t: ApiTokenRecord): ApiTokenView {
  const { tokenHash: _hash, ...rest } = t;
  return rest;
}

/**
 * Creates a token answering to `actor.id` (a person's account id; for a token caller, its creator),
 * or with no id, to `actor.name` if that is a bootstrap credential. Refused (403 `forbidden`) when
 * that creator is unknown or its role does not cover the token's: such a token would be refused
 * at every use.
 */
export async function createApiToken(
  d: AccountsDeps,
  input: { name: unknown; role: unknown; expiresInDays?: unknown },
  actor: ActorRef,
): Promise<{ token: string; record: ApiTokenView }> {
  let name: string;
  try {
    name = normaliseDisplayName(input.name, '', 'name');
    if (!name) throw new InvalidInputError('name', 'is required');
    if (!grantsRole(d, input.role)) throw new InvalidInputError('role', roleChoices(d));
    const days = input.expiresInDays ?? 90;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) {
      throw new InvalidInputError('expiresInDays', `must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}`);
    }
    input.expiresInDays = days;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      await d.audit(actorEntry(actor, 'input.refused', { action: 'token.create', reason: err.message }));
      throw new AccountError(400, 'invalid_input', err.message);
    }
    throw err;
  }
  const createdBy = actor.id ?? actor.name;
  const creator = await creatorOf(d, createdBy);
  if (!creator || creator.disabled || !roleCovers(creator.role, input.role)) {
    throw new AccountError(
      403,
      'forbidden',
      creator
        ? `a token cannot carry more than its creator's role (${creator.role})`
        : 'a token must be created by a person or the bootstrap admin token',
    );
  }
  const token = `${API_TOKEN_PREFIX}${randomId(32)}`;
  const now = d.now();
  const record: ApiTokenRecord = {
    id: `t_${randomId(9)}`,
    name,
    role: input.role,
    tokenHash: sha256Hex(token),
    createdBy,
    createdAt: now,
    expiresAt: now + (input.expiresInDays as number) * DAY,
    revokedAt: null,
    lastUsedAt: null,
  };
  await d.store.createApiToken(record);
  await d.audit(
    actorEntry(actor, 'token.created', {
      token: record.id,
      name,
      role: record.role,
      expiresAt: record.expiresAt,
    }),
  );
  return { token, record: view(record) };
}

export async function listApiTokens(d: AccountsDeps): Promise<ApiTokenView[]> {
  return (await d.store.listApiTokens()).map(view);
}

export async function revokeApiToken(d: AccountsDeps, id: string, actor: string | ActorRef): Promise<void> {
  if (!(await d.store.revokeApiToken(id, d.now()))) throw new AccountError(404, 'not_found', `no active token ${id}`);
  await d.audit(actorEntry(actor, 'token.revoked', { token: id }));
}

/**
 * Revokes the active tokens that `accountId` created and `which` selects; returns their ids. The
 * caller's own audit entry names them (user.disabled, user.role_changed).
 */
export async function revokeTokensOf(
  d: AccountsDeps,
  accountId: string,
  which: (t: ApiTokenRecord) => boolean,
): Promise<string[]> {
  const now = d.now();
  const revoked: string[] = [];
  for (const t of await d.store.listApiTokens()) {
    if (t.createdBy !== accountId || t.revokedAt !== null || t.expiresAt <= now || !which(t)) continue;
    if (await d.store.revokeApiToken(t.id, now)) revoked.push(t.id);
  }
  return revoked;
}

/**
 * The live token for a presented bearer token and who answers for it, or null: unknown, revoked,
 * expired, or its creator disabled, unknown, or no longer holding the token's role (see the file
 * comment). The creator is looked up at every use, so a change to the person applies at once.
 */
export async function authenticateApiToken(d: AccountsDeps, token: string): Promise<AuthenticatedToken | null> {
  if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) return null;
  const t = await d.store.getApiTokenByHash(sha256Hex(token));
  const now = d.now();
  if (!t || t.revokedAt !== null || t.expiresAt <= now) return null;
  const creator = await creatorOf(d, t.createdBy);
  if (!creator || creator.disabled || !roleCovers(creator.role, t.role)) return null;
  // Throttled: one write a minute per token is enough to show "last used".
  if (t.lastUsedAt === null || now - t.lastUsedAt > 60_000) await d.store.touchApiToken(t.id, now);
  return { token: t, creator };
}
