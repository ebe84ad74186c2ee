/** A signed-in person's own account: password, TOTP enrolment, sessions. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccountError, type AccountRecord } from '@finsecure/accounts';
import { sendAccountError } from './sessions.js';

async function me(app: FastifyInstance, req: FastifyRequest): Promise<AccountRecord> {
  const p = req.principal!;
  const a = p.accountId ? await app.accounts.deps.store.getAccount(p.accountId) : null;
  if (!a || !p.session)
    throw new AccountError(400, 'not_a_person', 'only a signed-in person has a profile (not a token)');
  return a;
}

const str = (max: number) => ({ type: 'string', maxLength: max }) as const;

export default async function profile(app: FastifyInstance): Promise<void> {
  const accounts = app.accounts;
  const self = { permission: 'self' as const };

  app.post<{ Body: { current: string; next: string } }>(
    '/api/me/password',
    {
      config: self,
      schema: {
        tags: ['people'],
        summary: 'Change your password (ends your other sessions)',
        body: {
          type: 'object',
          required: ['current', 'next'],
          additionalProperties: false,
          properties: { current: str(4096), next: str(4096) },
        },
      },
    },
    async (req, reply) => {
      try {
        await accounts.changePassword(await me(app, req), req.body, req.principal!.session!.idHash);
        return { ok: true };
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.post(
    '/api/me/mfa/enrol',
    {
      config: self,
      schema: {
        tags: ['people'],
        summary: 'Start TOTP enrolment: a QR code for your authenticator app',
        description:
          'To move a second factor already in use to a new app, send {"password": "<your password>"}: a wrong one counts towards the lockout.',
      },
    },
    async (req, reply) => {
      try {
        const a = await me(app, req);
        const password = (req.body as { password?: unknown } | undefined)?.password;
        const out = await accounts.beginTotp(a, req.principal!.session!.idHash, { password });
        return reply.header('cache-control', 'no-store').send(out);
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.post<{ Body: { code: string } }>(
    '/api/me/mfa/confirm',
    {
      config: self,
      schema: {
        tags: ['people'],
        summary: 'Confirm TOTP enrolment with a code; returns ten one-time recovery codes (shown once)',
        body: { type: 'object', required: ['code'], additionalProperties: false, properties: { code: str(64) } },
      },
    },
    async (req, reply) => {
      try {
        const a = await me(app, req);
        const session = await accounts.deps.store.getSession(req.principal!.session!.idHash);
        const out = await accounts.confirmTotp(a, session!, req.body.code);
        return reply.header('cache-control', 'no-store').send(out);
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.get(
    '/api/me/sessions',
    { config: self, schema: { tags: ['people'], summary: 'Your active sessions' } },
    async (req, reply) => {
      try {
        return await accounts.listOwnSessions(await me(app, req), req.principal!.session!.idHash);
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  app.delete<{ Params: { handle: string } }>(
    '/api/me/sessions/:handle',
    {
      config: self,
      schema: {
        tags: ['people'],
        summary: 'End one of your sessions',
        params: { type: 'object', properties: { handle: { type: 'string', maxLength: 64 } }, required: ['handle'] },
      },
    },
    async (req, reply) => {
      try {
        await accounts.endOwnSession(await me(app, req), req.params.handle);
        return { ok: true };
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );
}
