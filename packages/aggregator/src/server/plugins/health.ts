import type { FastifyInstance } from 'fastify';
import { redactPaths } from '@finsecure/common/data';
import type { ServerContext } from '../context.js';

/** The full notes stay in the start-up log; the public endpoint shows file names only. */
export { redactPaths };

/**
 * Whether the store can still be read where damage shows first: the last audit entry,
 * read through the audit table's b-tree, must be the one the head names (a damaged root
 * page either fails the read or, silently, finds another row). Two indexed reads per
 * poll. The reason goes to the log only: this endpoint is public.
 */
async function storeReadable(ctx: ServerContext): Promise<boolean> {
  try {
    const head = await ctx.store.auditHead();
    if (!head) return true;
    const [last] = await ctx.store.listAudit({ afterSeq: head.seq - 1, limit: 1 });
    if (last?.seq === head.seq && last.hash === head.hash) return true;
    ctx.logger.error(
      { headSeq: head.seq, readSeq: last?.seq ?? null },
      'health: the audit table does not match its head',
    );
    return false;
  } catch (err) {
    ctx.logger.error({ err }, 'health: the store cannot be read');
    return false;
  }
}

const HealthReply = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    version: { type: 'string' },
    store: { type: 'string' },
    storeReadable: { type: 'boolean' },
    backend: { type: 'string' },
    backendNotes: { type: 'array', items: { type: 'string' } },
    uptimeMs: { type: 'number' },
    modelVersion: { type: 'integer' },
    connectedBanks: { type: 'integer' },
    tls: { type: 'boolean' },
  },
} as const;

/**
 * Liveness and what this aggregator runs on. Public: load balancers and operators poll it.
 * 503 with status "damaged" when the store cannot be read (see storeReadable).
 */
export default async function health(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/health',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Liveness, version, store and training backend',
        response: { 200: HealthReply, 503: HealthReply },
      },
    },
    async (_req, reply) => {
      const status = ctx.federation.status();
      const readable = await storeReadable(ctx);
      return reply.code(readable ? 200 : 503).send({
        status: readable ? 'ok' : 'damaged',
        version: ctx.version,
        store: ctx.store.kind,
        storeReadable: readable,
        backend: ctx.backend.backend,
        backendNotes: ctx.backend.notes.map((note) => redactPaths(note)),
        uptimeMs: Date.now() - ctx.startedAt,
        modelVersion: status.modelVersion,
        connectedBanks: status.connectedBanks,
        tls: !!ctx.config.tlsCert,
      });
    },
  );
}
