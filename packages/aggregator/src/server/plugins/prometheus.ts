/** /metrics in Prometheus text format. Public like /api/health: it carries no secrets or bank data. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import type { AggregatorMetrics } from '../../metrics/prometheus.js';

export default async function prometheus(
  app: FastifyInstance,
  ctx: ServerContext & { metrics: AggregatorMetrics },
): Promise<void> {
  app.get(
    '/metrics',
    { config: { permission: 'public' }, schema: { tags: ['system'], summary: 'Prometheus metrics' } },
    async (_req, reply) => {
      ctx.metrics.connectedBanks.set(ctx.federation.status().connectedBanks);
      return reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    },
  );
}
