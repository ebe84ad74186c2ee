/** Administration of people (users.manage) and of API tokens for automation (tokens.manage). */
import type { FastifyInstance } from 'fastify';
import { ROLES, type ActorRef } from '@finsecure/accounts';
import type { Principal } from './auth.js';
import { sendAccountError } from './sessions.js';

const str = (max: number) => ({ type: 'string', maxLength: max }) as const;
const IdParam = { type: 'object', properties: { id: str(64) }, required: ['id'] } as const;

export default async function users(app: FastifyInstance): Promise<void> {
  const accounts = app.accounts;
  const manage = { permission: 'users.manage' as const };
  /**
   * Who acts, for the account core: a person (their account), or an API token, which answers to
   * its creator (`id`: the self-check and a new token's creator; `by`: named in every entry).
   */
  const actor = (p: Principal | null): ActorRef => ({
    id: p?.accountId ?? p?.by?.id ?? null,
    name: p?.name ?? 'system',
    ...(p?.by ? { by: p.by.name } : {}),
  });

  app.get('/api/users', { config: manage, schema: { tags: ['people'], summary: 'All accounts' } }, async () =>
    accounts.listAccounts(),
  );

  app.post<{ Body: { username: string; displayName?: string; role: string; password?: string } }>(
    '/api/users',
    {
      config: manage,
      schema: {
        tags: ['people'],
        summary: 'Create an account; without a password a one-time password is returned (shown once)',
        body: {
          type: 'object',
          required: ['username', 'role'],
          additionalProperties: false,
          properties: {
            username: str(1024),
            displayName: str(1024),
            role: { type: 'string', enum: [...ROLES] },
            password: str(4096),
          },
        },
      },
    },
    async (req, reply) => {
      try {
        const out = await accounts.createAccount(req.body, actor(req.principal));
        return reply.code(201).header('cache-control', 'no-store').send(out);
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.patch<{ Params: { id: string }; Body: { role?: string; displayName?: string; disabled?: boolean } }>(
    '/api/users/:id',
    {
      config: manage,
      schema: {
        tags: ['people'],
        summary: 'Change role or display name, disable or enable (disabling ends the sessions)',
        params: IdParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            role: { type: 'string', enum: [...ROLES] },
            displayName: str(1024),
            disabled: { type: 'boolean' },
          },
        },
      },
    },
    async (req, reply) => {
      try {
        return await accounts.updateAccount(req.params.id, req.body, actor(req.principal));
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  for (const [action, summary] of [
    ['reset-mfa', 'Remove TOTP and recovery codes (lost phone) and end the sessions'],
    ['reset-password', 'Set a one-time password (returned once) and end the sessions'],
    ['end-sessions', 'End every session of this person'],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/users/:id/${action}`,
      { config: manage, schema: { tags: ['people'], summary, params: IdParam } },
      async (req, reply) => {
        try {
          const who = actor(req.principal);
          if (action === 'reset-mfa') await accounts.resetMfa(req.params.id, who);
          if (action === 'end-sessions') return { ended: await accounts.endSessionsOf(req.params.id, who) };
          if (action === 'reset-password') {
            const oneTimePassword = await accounts.resetPassword(req.params.id, who);
            return reply.header('cache-control', 'no-store').send({ oneTimePassword });
          }
          return { ok: true };
        } catch (err) {
          return sendAccountError(reply, err);
        }
      },
    );
  }

  const tokens = { permission: 'tokens.manage' as const };
  app.get(
    '/api/tokens',
    { config: tokens, schema: { tags: ['people'], summary: 'API tokens (never the token itself)' } },
    async () => accounts.listApiTokens(),
  );
  app.post<{ Body: { name: string; role: string; expiresInDays?: number } }>(
    '/api/tokens',
    {
      config: tokens,
      schema: {
        tags: ['people'],
        summary: 'Create a named API token scoped to a role, expiring (default 90 days); the token is shown once',
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: str(1024),
            role: { type: 'string', enum: [...ROLES] },
            expiresInDays: { type: 'integer' },
          },
        },
      },
    },
    async (req, reply) => {
      try {
        // A token made by a token answers to the same person (or bootstrap credential) as its maker.
        const out = await accounts.createApiToken(req.body, actor(req.principal));
        return reply.code(201).header('cache-control', 'no-store').send(out);
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/api/tokens/:id',
    { config: tokens, schema: { tags: ['people'], summary: 'Revoke an API token', params: IdParam } },
    async (req, reply) => {
      try {
        await accounts.revokeApiToken(req.params.id, actor(req.principal));
        return { ok: true };
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );
}
