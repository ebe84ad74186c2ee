/**
 * Cookies, security headers with a content-security policy and the per-route rate limiter, as
 * the bank console has them (@finsecure/accounts/http registerWebSecurity); the dashboard also
 * connects to this host's live event stream (ws:, wss:).
 */
import { registerWebSecurity } from '@finsecure/accounts/http';
import fp from 'fastify-plugin';

export interface SecurityOptions {
  /** Served over TLS: HSTS on. */
  secure: boolean;
}

export default fp(
  async (app, opts: SecurityOptions) => registerWebSecurity(app, { secure: opts.secure, connectSrc: ['ws:', 'wss:'] }),
  { name: 'finsecure-security' },
);
