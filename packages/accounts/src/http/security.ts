/**
 * The security plumbing of a server whose web app people sign in to (the aggregator's dashboard,
 * the bank console): cookies (@fastify/cookie), security headers with a content-security policy
 * (@fastify/helmet), and the rate limiter (@fastify/rate-limit, off by default, switched on per
 * route: sign-in and MFA). Register it on the root instance, before any route.
 *
 * The CSP allows only this origin, with the exceptions both apps need: inline styles (React and
 * recharts set style attributes) and data: images (the enrolment QR code). `connectSrc` adds what
 * the app connects to besides its origin (the dashboard's live event stream: ws:, wss:).
 */
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { addressKey } from '../address.js';

export interface WebSecurityOptions {
  /** Served over TLS: HSTS on, and insecure requests upgraded. */
  secure: boolean;
  /** Sources the app connects to besides its own origin (CSP connect-src). */
  connectSrc?: readonly string[];
}

export async function registerWebSecurity(app: FastifyInstance, opts: WebSecurityOptions): Promise<void> {
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
        connectSrc: ["'self'", ...(opts.connectSrc ?? [])],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(opts.secure ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: opts.secure ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // The apps load nothing cross-origin: the default isolation headers stay.
  });
  // Counted per address as the other per-address limits are (address.ts): an IPv6 host holds a
  // whole /64, and keyed by its full address it would get a fresh allowance per address.
  await app.register(fastifyRateLimit, { global: false, keyGenerator: (req) => addressKey(req.ip) });
}
