/**
 * Named API tokens for automation: scoped to a role, hashed (sha256 of 256 random
 * bits), expiring (at most a year) and revocable. The token is returned once, at
 * creation. Presented as "Authorization: Bearer fsk_…".
 */
import { AccountError, grantsRole, roleChoices, type AccountsDeps } from './deps.js';
import { randomId, sha256Hex } from './secrets.js';
import type { ApiTokenRecord } from './types.js';
import { InvalidInputError, normaliseDisplayName } from './username.js';

export const API_TOKEN_PREFIX = 'fsk_';
export const MAX_TOKEN_DAYS = 365;
const DAY = 86_400_000;

export type ApiTokenView = Omit<ApiTokenRecord, 'tokenHash'>;

function view(t: ApiTokenRecord): ApiTokenView {
  const { tokenHash: _hash, ...rest } = t;
  return rest;
}

export async function createApiToken(
  d: AccountsDeps,
  input: { name: unknown; role: unknown; expiresInDays?: unknown },
  actor: { id: string; name: string },
): Promise<{ token: string; record: ApiTokenView }> {
  let name: string;
  try {
    name = normaliseDisplayName(input.name, '');
    if (!name) throw new InvalidInputError('name', 'is required');
    if (!grantsRole(d, input.role)) throw new InvalidInputError('role', roleChoices(d));
    const days = input.expiresInDays ?? 90;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) {
      throw new InvalidInputError('expiresInDays', `must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}`);
    }
    input.expiresInDays = days;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      await d.audit({
        type: 'input.refused',
        actor: actor.name,
        details: { action: 'token.create', reason: err.message },
      });
      throw new AccountError(400, 'invalid_input', err.message);
    }
    throw err;
  }
  const token = `${API_TOKEN_PREFIX}${randomId(32)}`;
  const now = d.now();
  const record: ApiTokenRecord = {
    id: `t_${randomId(9)}`,
    name,
    role: input.role,
    tokenHash: sha256Hex(token),
    createdBy: actor.id,
    createdAt: now,
    expiresAt: now + (input.expiresInDays as number) * DAY,
    revokedAt: null,
    lastUsedAt: null,
  };
  await d.store.createApiToken(record);
  await d.audit({
    type: 'token.created',
    actor: actor.name,
    details: { token: record.id, name, role: record.role, expiresAt: record.expiresAt },
  });
  return { token, record: view(record) };
}

export async function listApiTokens(d: AccountsDeps): Promise<ApiTokenView[]> {
  return (await d.store.listApiTokens()).map(view);
}

export async function revokeApiToken(d: AccountsDeps, id: string, actor: string): Promise<void> {
  if (!(await d.store.revokeApiToken(id, d.now()))) throw new AccountError(404, 'not_found', `no active token ${id}`);
  await d.audit({ type: 'token.revoked', actor, details: { token: id } });
}

/** The live token record for a presented bearer token, or null (unknown, revoked, expired). */
export async function authenticateApiToken(d: AccountsDeps, token: string): Promise<ApiTokenRecord | null> {
  if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) return null;
  const t = await d.store.getApiTokenByHash(sha256Hex(token));
  const now = d.now();
  if (!t || t.revokedAt !== null || t.expiresAt <= now) return null;
  // Throttled: one write a minute per token is enough to show "last used".
  if (t.lastUsedAt === null || now - t.lastUsedAt > 60_000) await d.store.touchApiToken(t.id, now);
  return t;
}
