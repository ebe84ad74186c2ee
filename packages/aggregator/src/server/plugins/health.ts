import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

/** Liveness and what this aggregator runs on. Public: load balancers and operators poll it. */
export default async function health(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/health',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Liveness, version, store and training backend',
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              version: { type: 'string' },
              store: { type: 'string' },
              backend: { type: 'string' },
              backendNotes: { type: 'array', items: { type: 'string' } },
              uptimeMs: { type: 'number' },
              modelVersion: { type: 'integer' },
              connectedBanks: { type: 'integer' },
              tls: { type: 'boolean' },
            },
          },
        },
      },
    },
    async () => {
      const status = ctx.federation.status();
      return {
        status: 'ok',
        version: ctx.version,
        store: ctx.store.kind,
        backend: ctx.backend.backend,
        backendNotes: ctx.backend.notes,
        uptimeMs: Date.now() - ctx.startedAt,
        modelVersion: status.modelVersion,
        connectedBanks: status.connectedBanks,
        tls: !!ctx.config.tlsCert,
      };
    },
  );
}
