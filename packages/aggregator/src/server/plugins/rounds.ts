/** Rounds, their metrics series, and the audit log with its hash-chain check. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { refuseDamagedData } from './models.js';
import { ErrorReply } from '../schema.js';
import { roundForJson } from '../epsilon.js';
import { roundFor } from '../round-views.js';

export default async function rounds(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  refuseDamagedData(app, ctx);
  app.get<{ Querystring: { limit?: number; before?: number } }>(
    '/api/rounds',
    {
      // The dashboard's charts are drawn from this list: viewers (charts only) need it, and get
      // the rounds without what only rounds.read shows (round-views.ts).
      config: { permission: 'charts.read' },
      schema: {
        tags: ['rounds'],
        summary: 'Rounds, newest first',
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            before: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (req) =>
      (
        await ctx.store.listRounds({
          limit: req.query.limit ?? 100,
          ...(req.query.before ? { before: req.query.before } : {}),
        })
      ).map((r) => roundForJson(roundFor(r, req.principal?.permissions))),
  );

  app.get<{ Params: { id: number } }>(
    '/api/rounds/:id',
    {
      config: { permission: 'rounds.read' },
      schema: {
        tags: ['rounds'],
        summary: 'One round in full',
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
        response: { 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const round = await ctx.store.getRound(req.params.id);
      if (!round) return reply.code(404).send({ error: 'not_found', message: `no round ${req.params.id}` });
      return roundForJson(round);
    },
  );

  app.get<{ Querystring: { after?: number; limit?: number } }>(
    '/api/metrics/series',
    {
      config: { permission: 'charts.read' },
      schema: {
        tags: ['rounds'],
        summary: 'Per-round global metrics, bytes and durations, oldest first (for charts)',
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 100000 },
          },
        },
      },
    },
    async (req) => {
      const list = await ctx.store.listRoundsAscending({
        ...(req.query.after ? { after: req.query.after } : {}),
        ...(req.query.limit ? { limit: req.query.limit } : {}),
      });
      return list.map((r) => {
        const banks = Object.values(r.banks);
        return {
          round: r.id,
          status: r.status,
          failureReason: r.failureReason,
          modelVersion: r.modelVersion,
          participants: r.participants.length,
          selected: r.selected.length,
          bytesUp: banks.reduce((n, b) => n + b.bytesUp, 0),
          bytesDown: banks.reduce((n, b) => n + b.bytesDown, 0),
          durations: r.durations,
          metrics: r.metrics,
        };
      });
    },
  );

  app.get<{ Querystring: { after?: number; limit?: number } }>(
    '/api/audit',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'Audit log entries (ascending), each carrying the hash of the one before',
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500 },
          },
        },
      },
    },
    async (req) => ctx.store.listAudit({ afterSeq: req.query.after ?? 0, limit: req.query.limit ?? 500 }),
  );

  app.get(
    '/api/audit/verify',
    {
      config: { permission: 'audit.read' },
      schema: { tags: ['audit'], summary: 'Recompute the hash chain of the whole audit log' },
    },
    async () => ctx.store.verifyAudit(),
  );
}
