/**
 * The Fastify server: one encapsulated plugin per concern (auth, health, banks,
 * training, rounds, model, bank socket, live events, metrics, dashboard, docs).
 */
import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AggregatorMetrics } from '../metrics/prometheus.js';
import type { ServerContext } from './context.js';
import auth from './plugins/auth.js';
import banks from './plugins/banks.js';
import bankSocket from './plugins/bank-socket.js';
import dashboard from './plugins/dashboard.js';
import events from './plugins/events.js';
import health from './plugins/health.js';
import model from './plugins/model.js';
import prometheus from './plugins/prometheus.js';
import rounds from './plugins/rounds.js';
import training from './plugins/training.js';

export async function buildServer(ctx: ServerContext & { metrics: AggregatorMetrics }): Promise<FastifyInstance> {
  const https =
    ctx.config.tlsCert && ctx.config.tlsKey
      ? { cert: readFileSync(ctx.config.tlsCert), key: readFileSync(ctx.config.tlsKey) }
      : null;
  const app = Fastify({
    loggerInstance: ctx.logger,
    bodyLimit: 1024 * 1024,
    // Reject unknown fields instead of silently dropping them (a typo in a config change
    // must not look like success).
    ajv: { customOptions: { removeAdditional: false } },
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: 'bad_request', message: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: status === 500 ? 'internal' : 'bad_request',
      message: status === 500 ? 'internal error (see the aggregator log)' : err.message,
    });
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
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyWebsocket, { options: { maxPayload: ctx.config.maxFrameBytes } });
  await app.register(auth, ctx);
  await app.register(health, ctx);
  await app.register(banks, ctx);
  await app.register(training, ctx);
  await app.register(rounds, ctx);
  await app.register(model, ctx);
  await app.register(prometheus, ctx);
  await app.register(bankSocket, ctx);
  await app.register(events, ctx);
  await app.register(dashboard, { dir: ctx.config.dashboardDir });
  return app;
}
