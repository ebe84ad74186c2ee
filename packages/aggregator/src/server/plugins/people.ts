/**
 * Everything about people on one Fastify instance, in the order it must be registered
 * (before any other route, so that the authorisation hook and the route collector see
 * every route): security headers and cookies, rate limiting, the authorisation hook,
 * then the sign-in, profile, user and API-token routes. The aggregator uses it in
 * server/app.ts; the bank console registers the same function with its own Accounts.
 */
import type { FastifyInstance } from 'fastify';
import type { Accounts } from '@finsecure/accounts';
import type { ApiAuth } from '../../auth/tokens.js';
import auth from './auth.js';
import profile from './profile.js';
import security from './security.js';
import sessions from './sessions.js';
import users from './users.js';

export interface PeopleOptions {
  accounts: Accounts;
  bootstrap: ApiAuth | null;
  /** Served over TLS (Secure cookies, HSTS). */
  secure: boolean;
  loginRateLimit?: number;
}

export async function registerPeople(app: FastifyInstance, opts: PeopleOptions): Promise<void> {
  await app.register(security, { secure: opts.secure });
  await app.register(auth, { accounts: opts.accounts, bootstrap: opts.bootstrap, secure: opts.secure });
  await app.register(sessions, {
    secure: opts.secure,
    ...(opts.loginRateLimit ? { loginRateLimit: opts.loginRateLimit } : {}),
  });
  await app.register(profile);
  await app.register(users);
}
