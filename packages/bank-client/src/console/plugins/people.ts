/**
 * People at the console: sign-in (password, then TOTP when enrolled) and logout (signInRoutes,
 * shared with the aggregator), who am I (and whether anyone is signed in), own password and
 * TOTP enrolment, and administration of accounts (users.manage). The core is
 * @finsecure/accounts, bound to the console database and its local audit log.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccountError, BANK_ROLES, type AccountRecord } from '@finsecure/accounts';
import { body, sendAccountError, signInRoutes, str } from '@finsecure/accounts/http';
import type { ConsoleContext } from '../context.js';
import { CSRF_COOKIE, SESSION_COOKIE } from './auth.js';

export default async function people(app: FastifyInstance, ctx: ConsoleContext & { loginRateLimit?: number }) {
  const { accounts } = ctx;
  const self = { access: 'self' as const };
  const manage = { access: 'users.manage' as const };
  const tags = ['people'];

  async function me(req: FastifyRequest): Promise<AccountRecord> {
    const a = await accounts.deps.store.getAccount(req.operator!.accountId);
    if (!a) throw new AccountError(401, 'unauthorized', 'sign in first');
    return a;
  }

  signInRoutes(app, {
    accounts,
    secure: ctx.secure,
    cookies: { session: SESSION_COOKIE, csrf: CSRF_COOKIE },
    loginRateLimit: ctx.loginRateLimit ?? 20,
    routeConfig: { public: { access: 'public' }, self },
  });

  async function whoami(req: FastifyRequest) {
    const op = req.operator!;
    const a = await me(req);
    return {
      username: op.name,
      displayName: op.displayName,
      role: op.role,
      permissions: [...op.permissions].sort(),
      mfaEnabled: a.totpSecret !== null,
      setup: op.setup,
      expiresAt: op.expiresAt,
    };
  }

  // The page's keep-alive while the person works (keys, pointer): reads do not extend a session
  // (polling must not keep an unattended one open), so an analyst reading the queue for longer
  // than the idle timeout was signed out. A POST, so the access hook counts it as activity.
  app.post(
    '/api/session/refresh',
    {
      config: self,
      schema: { tags, summary: 'Keep this session alive (the person is using the page); returns the new expiry' },
    },
    async (req) => ({ expiresAt: req.operator!.expiresAt, now: ctx.now() }),
  );

  app.get(
    '/api/whoami',
    { config: self, schema: { tags, summary: 'Who is signed in, role and permissions' } },
    async (req) => whoami(req),
  );

  // The web app's first question. /api/whoami answers 401 when nobody is signed in, which is
  // right for scripts but is the normal case on the sign-in page, where the browser logs every
  // 4xx fetch as a console error. This route answers 200 either way. It is public, but tells an
  // anonymous caller only `signedIn: false`; with a session cookie the access hook has already
  // checked the session (as for /api/whoami, whose `self` rule every role holds), and an ended,
  // expired, half-signed-in (second factor pending) or disabled one counts as signed out.
  app.get(
    '/api/auth/session',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Whether this browser is signed in (200 either way) and, if so, what /api/whoami says',
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      if (!req.operator) return { signedIn: false };
      return { signedIn: true, ...(await whoami(req)) };
    },
  );

  app.post<{ Body: { current: string; next: string } }>(
    '/api/me/password',
    {
      config: self,
      schema: {
        tags,
        summary: 'Change your password',
        body: body({ current: str(4096), next: str(4096) }, ['current', 'next']),
      },
    },
    async (req, reply) => {
      try {
        await accounts.changePassword(await me(req), req.body, req.operator!.session.idHash);
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
        tags,
        summary: 'Start TOTP enrolment (QR code)',
        description: 'To move a second factor already in use to a new app, send {"password": "<your password>"}.',
      },
    },
    async (req, reply) => {
      try {
        const password = (req.body as { password?: unknown } | undefined)?.password;
        const out = await accounts.beginTotp(await me(req), req.operator!.session.idHash, { password });
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
        tags,
        summary: 'Confirm TOTP enrolment; returns recovery codes (shown once)',
        body: body({ code: str(64) }, ['code']),
      },
    },
    async (req, reply) => {
      try {
        const session = await accounts.deps.store.getSession(req.operator!.session.idHash);
        const out = await accounts.confirmTotp(await me(req), session!, req.body.code);
        return reply.header('cache-control', 'no-store').send(out);
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );

  const actor = (req: FastifyRequest) => ({ id: req.operator!.accountId, name: req.operator!.name });

  app.get('/api/users', { config: manage, schema: { tags, summary: 'All accounts' } }, async () =>
    accounts.listAccounts(),
  );

  app.post<{ Body: { username: string; displayName?: string; role: string; password?: string } }>(
    '/api/users',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Create an account; without a password a one-time password is returned (shown once)',
        body: body(
          {
            username: str(1024),
            displayName: str(1024),
            role: { type: 'string', enum: [...BANK_ROLES] },
            password: str(4096),
          },
          ['username', 'role'],
        ),
      },
    },
    async (req, reply) => {
      try {
        const out = await accounts.createAccount(req.body, req.operator!.name);
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
        tags,
        summary: 'Change role or display name, disable or enable',
        params: { type: 'object', properties: { id: str(64) }, required: ['id'] },
        body: body(
          { role: { type: 'string', enum: [...BANK_ROLES] }, displayName: str(1024), disabled: { type: 'boolean' } },
          [],
        ),
      },
    },
    async (req, reply) => {
      try {
        return await accounts.updateAccount(req.params.id, req.body, actor(req));
      } catch (err) {
        return sendAccountError(reply, err);
      }
    },
  );
}
