/**
 * Security plumbing shared by every route: cookies (@fastify/cookie), security headers
 * with a content-security policy (@fastify/helmet), and the rate limiter
 * (@fastify/rate-limit, off by default, switched on per route: login and MFA).
 *
 * The CSP allows only this origin. Exceptions, each needed by the dashboard: inline
 * styles (React/recharts set style attributes), data: images (the enrolment QR code),
 * and ws:/wss: to this host for the live event stream.
 */
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';

export interface SecurityOptions {
  /** Served over TLS: HSTS on. */
  secure: boolean;
}

export default fp(
  async (app, opts: SecurityOptions) => {
    await app.register(fastifyCookie);
    await app.register(fastifyHelmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'", 'ws:', 'wss:'],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          ...(opts.secure ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      hsts: opts.secure ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      // The dashboard loads nothing cross-origin; keep the default isolation headers.
    });
    await app.register(fastifyRateLimit, { global: false });
  },
  { name: 'finsecure-security' },
);
