/**
 * The Fastify server: one encapsulated plugin per concern (auth, health, banks,
 * training, rounds, model, bank socket, live events, metrics, dashboard, docs).
 */
import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { boundRequestNumbers, requestTimeouts } from './request-limits.js';
import { createAccounts, type AccountsOptions } from '@finsecure/accounts';
import {
  errorAnswer,
  refuseUnknownQuery,
  registerJsonBody,
  requestValidators,
  schemaErrors,
  type RouteError,
} from '@finsecure/accounts/http';
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
    schemaErrorFormatter: schemaErrors,
    requestTimeout: ctx.config.requestTimeoutMs,
    ...(https ? { https: { ...https, ...timeouts } } : { http: timeouts }),
  }) as unknown as FastifyInstance;
  // Before any route is declared, so that it sees every one (plugins and third-party routes too).
  app.addHook('onRoute', boundRequestNumbers);
  app.addHook('onRoute', refuseUnknownQuery);
  // Unknown fields refused, bodies never coerced (@finsecure/accounts/http validators.ts).
  app.setValidatorCompiler(requestValidators({ strictNumbers: false }));
  // A refused JSON body says why: where its syntax breaks, or its __proto__ key (json-body.ts).
  registerJsonBody(app);

  app.setErrorHandler((err: RouteError, req, reply) => {
    // A full disk is the operator's to fix, not a bug: say so (507). SQLite rolled the
    // request's transaction back, so nothing of it was stored, and nothing stored was lost.
    if (err.code === 'SQLITE_FULL' || err.code === 'ENOSPC') {
      req.log.error({ err }, 'request failed: the disk is full');
      return reply.code(507).send({
        error: 'storage_full',
        message:
          "the aggregator's disk is full: this change was not stored (nothing stored was lost); free space on the data directory's file system and try again",
      });
    }
    const { status, body } = errorAnswer(err, 'the aggregator log');
    if (status === 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
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
  // Before any route it documents: @fastify/swagger sees only routes registered after it (the
  // people and sign-in routes were missing from /docs).
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
  await registerPeople(app, {
    accounts,
    bootstrap: ctx.auth,
    secure: !!https,
    ...(people.loginRateLimit ? { loginRateLimit: people.loginRateLimit } : {}),
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
