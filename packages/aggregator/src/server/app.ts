/**
 * The Fastify server: one encapsulated plugin per concern (auth, health, banks,
 * training, rounds, model, bank socket, live events, metrics, dashboard, docs).
 */
import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { createAccounts, type AccountsOptions } from '@finsecure/accounts';
import type { AggregatorMetrics } from '../metrics/prometheus.js';
import { preAuthServerOptions, socketErrorHandler } from './admission/ws-limits.js';
import { refuseUpgradesOffSocketRoutes } from './admission/ws-paths.js';
import type { ServerContext } from './context.js';
import { declareRoutes } from './plugins/auth.js';
import banks from './plugins/banks.js';
import bankSocket, { BANK_SOCKET_PATH } from './plugins/bank-socket.js';
import dashboard from './plugins/dashboard.js';
import events, { EVENTS_SOCKET_PATH } from './plugins/events.js';
import health from './plugins/health.js';
import model from './plugins/model.js';
import { registerPeople } from './plugins/people.js';
import models from './plugins/models.js';
import scaler from './plugins/scaler.js';
import prometheus from './plugins/prometheus.js';
import rounds from './plugins/rounds.js';
import training from './plugins/training.js';
import jobs from './plugins/jobs.js';

/** Options of the people module (accounts, sessions) that tests and deployments may change. */
export type PeopleSettings = Pick<AccountsOptions, 'requireMfaForAdmins' | 'session' | 'lockout'> & {
  now?: () => number;
  loginRateLimit?: number;
};

/**
 * Node's limits on receiving one request, all from `requestTimeoutMs` (config/schema.ts).
 * Fastify's requestTimeout defaults to 0, which turns off Node's own 300 s: a client that sent
 * its headers and part of a body (Content-Length: 100, 6 bytes sent) held its request, a
 * socket and the parser's buffers for ever. Node answers 408 and closes the socket when a
 * request is not received whole in time; it checks every `connectionsCheckingInterval`
 * (default 30 s, which alone would let a 1 s limit last 30 s), here a tenth of the limit.
 * The headers must come within the same limit (Node's default is 60 s). A WebSocket is a
 * request only until its upgrade: the parser lets go of the socket then, and these limits no
 * longer apply to it (a bank connection is watched by the heartbeat). An idle keep-alive
 * connection has no request in progress either (keepAliveTimeout closes it).
 */
export function requestTimeouts(requestTimeoutMs: number): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(60_000, requestTimeoutMs),
    connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(requestTimeoutMs / 10))),
  };
}

/** The parts of a request a route schema validates. */
const REQUEST_PARTS = ['querystring', 'params', 'body', 'headers'] as const;
/** Keywords whose value is a subschema, or an array or a map of them (JSON Schema draft 7 and 2020-12). */
const SUBSCHEMA = ['additionalProperties', 'items', 'contains', 'not', 'if', 'then', 'else', 'propertyNames'];
const SUBSCHEMA_LISTS = ['items', 'prefixItems', 'allOf', 'anyOf', 'oneOf'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of `schema` in which every integer must be a safe integer and every number finite.
 * Fastify's Ajv coerces the query string, the path parameters and JSON strings to numbers:
 * "1e309" becomes Infinity, which passes `type: integer` (Ajv tests `!(x % 1) && !isNaN(x)`),
 * and with Ajv's default `strictNumbers` the limit keywords skip a non-finite number, so even
 * `maximum: 1000` let it through; "99999999999999999999999" becomes 1e23, an integer that no
 * store or zod `.int()` takes. Either then threw in a handler and the request got a 500. With
 * `strictNumbers` off, `minimum` and `maximum` see every number, so an integer without bounds
 * gets ±Number.MAX_SAFE_INTEGER and a number ±Number.MAX_VALUE (a tighter bound the route gives
 * stays): a bad value is a 400 naming the field ("querystring/before must be <= 9007199254740991").
 * NaN cannot come out of a coercion (Ajv only coerces a string equal to its number).
 */
export function boundNumbers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(boundNumbers);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = { ...schema };
  for (const k of SUBSCHEMA) if (isObject(out[k])) out[k] = boundNumbers(out[k]);
  for (const k of SUBSCHEMA_LISTS) if (Array.isArray(out[k])) out[k] = (out[k] as unknown[]).map(boundNumbers);
  for (const k of SUBSCHEMA_MAPS)
    if (isObject(out[k]))
      out[k] = Object.fromEntries(Object.entries(out[k]).map(([name, sub]) => [name, boundNumbers(sub)]));
  const types = Array.isArray(out.type) ? (out.type as unknown[]) : [out.type];
  const limit = types.includes('integer')
    ? Number.MAX_SAFE_INTEGER
    : types.includes('number')
      ? Number.MAX_VALUE
      : undefined;
  if (limit !== undefined) {
    if (!(typeof out.maximum === 'number' && out.maximum <= limit)) out.maximum = limit;
    if (!(typeof out.minimum === 'number' && out.minimum >= -limit)) out.minimum = -limit;
  }
  return out;
}

/** onRoute: bounds the numbers of every request part a route validates (boundNumbers). */
function boundRequestNumbers(route: RouteOptions): void {
  if (!route.schema) return;
  const schema: Record<string, unknown> = { ...route.schema };
  for (const part of REQUEST_PARTS) if (schema[part] !== undefined) schema[part] = boundNumbers(schema[part]);
  route.schema = schema as RouteOptions['schema'];
}

export async function buildServer(
  ctx: ServerContext & { metrics: AggregatorMetrics; people?: PeopleSettings },
): Promise<FastifyInstance> {
  const https =
    ctx.config.tlsCert && ctx.config.tlsKey
      ? { cert: readFileSync(ctx.config.tlsCert), key: readFileSync(ctx.config.tlsKey) }
      : null;
  const timeouts = requestTimeouts(ctx.config.requestTimeoutMs);
  const app = Fastify({
    loggerInstance: ctx.logger,
    bodyLimit: 1024 * 1024,
    // Reject unknown fields instead of silently dropping them (a typo in a config change
    // must not look like success). strictNumbers off: see boundRequestNumbers.
    ajv: { customOptions: { removeAdditional: false, strictNumbers: false } },
    requestTimeout: ctx.config.requestTimeoutMs,
    ...(https ? { https: { ...https, ...timeouts } } : { http: timeouts }),
  }) as unknown as FastifyInstance;
  // Before any route is declared, so that it sees every one (plugins and third-party routes too).
  app.addHook('onRoute', boundRequestNumbers);

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: 'bad_request', message: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: status === 500 ? 'internal' : 'bad_request',
      message: status === 500 ? 'internal error (see the aggregator log)' : err.message,
    });
  });

  // Before any route: every upgrade goes through the router, and one to a path with no socket
  // route is refused with 404 at the upgrade (admission/ws-paths.ts). Sockets start with the hello
  // limit; a bank's is raised to maxFrameBytes once it authenticates (admission/ws-limits.ts).
  await app.register(fastifyWebsocket, {
    options: preAuthServerOptions(ctx.config.maxFrameBytes),
    errorHandler: socketErrorHandler,
  });
  refuseUpgradesOffSocketRoutes(app, [BANK_SOCKET_PATH, EVENTS_SOCKET_PATH]);

  // Then: the authorisation hook must see every route registered after it.
  const people: PeopleSettings = {
    requireMfaForAdmins: ctx.config.adminMfa,
    session: { idleMs: ctx.config.sessionIdleMinutes * 60_000, absoluteMs: ctx.config.sessionMaxHours * 3_600_000 },
    ...ctx.people,
  };
  const accounts = createAccounts({
    store: ctx.store.accounts,
    audit: async (input) => {
      const entry = await ctx.store.appendAudit(input);
      ctx.events.publish({ type: 'audit', entry });
    },
    now: people.now ?? (() => Date.now()),
    ...(people.requireMfaForAdmins !== undefined ? { requireMfaForAdmins: people.requireMfaForAdmins } : {}),
    ...(people.session ? { session: people.session } : {}),
    ...(people.lockout ? { lockout: people.lockout } : {}),
  });
  await registerPeople(app, {
    accounts,
    bootstrap: ctx.auth,
    secure: !!https,
    ...(people.loginRateLimit ? { loginRateLimit: people.loginRateLimit } : {}),
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'FinSecure aggregator API',
        version: ctx.version,
        description: 'Admin and viewer API of the FinSecure federated-learning aggregator.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // Third-party routes we cannot annotate: their rule is declared here.
  await app.register(declareRoutes('public', fastifySwaggerUi), { routePrefix: '/docs' });
  await app.register(health, ctx);
  await app.register(banks, ctx);
  await app.register(training, ctx);
  await app.register(jobs, ctx);
  await app.register(rounds, ctx);
  await app.register(model, ctx);
  await app.register(models, ctx);
  await app.register(scaler, ctx);
  await app.register(prometheus, ctx);
  await app.register(bankSocket, ctx);
  await app.register(events, ctx);
  await app.register(declareRoutes('public', dashboard), { dir: ctx.config.dashboardDir });
  return app;
}
