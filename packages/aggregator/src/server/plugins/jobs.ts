/**
 * Analytics jobs (federation/jobs/): start a segmentation or a calibration, list jobs, read
 * one. Starting needs `training.control` (it asks every connected bank for work and holds
 * training rounds while it runs); reading needs `rounds.read`.
 */
import type { FastifyInstance } from 'fastify';
import { CalibrationParams, JobParamsError, JobRefused, SegmentationParams } from '../../federation/jobs/index.js';
import type { ServerContext } from '../context.js';
import { ErrorReply, jsonSchema } from '../schema.js';

const JobReply = {
  type: 'object',
  description: 'A job record: id, kind, status, params, stages (asked, answered, dropped with reasons), result',
  additionalProperties: true,
} as const;

export default async function jobs(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  for (const [kind, schema, summary] of [
    [
      'segmentation',
      SegmentationParams,
      'Queue a federated k-means segmentation of the banks’ customers (runs between training rounds)',
    ],
    [
      'calibration',
      CalibrationParams,
      'Queue a consortium calibration of anomaly scores: the score quantile for a contamination',
    ],
  ] as const) {
    app.post<{ Body: Record<string, unknown> | null }>(
      `/api/jobs/${kind}`,
      {
        config: { permission: 'training.control' },
        schema: {
          tags: ['jobs'],
          summary,
          body: jsonSchema(schema),
          response: { 202: JobReply, 400: ErrorReply, 409: ErrorReply },
        },
      },
      async (req, reply) => {
        try {
          const job = await ctx.federation.jobs.request(kind, req.body ?? {}, req.actor);
          return reply.code(202).send(job);
        } catch (err) {
          if (err instanceof JobParamsError)
            return reply.code(400).send({ error: 'bad_request', message: err.message });
          if (err instanceof JobRefused) return reply.code(409).send({ error: 'refused', message: err.message });
          throw err;
        }
      },
    );
  }

  app.get<{ Querystring: { limit?: number; before?: number } }>(
    '/api/jobs',
    {
      config: { permission: 'rounds.read' },
      schema: {
        tags: ['jobs'],
        summary: 'Analytics jobs, newest first',
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            before: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (req) =>
      ctx.store.listJobs({ limit: req.query.limit ?? 50, ...(req.query.before ? { before: req.query.before } : {}) }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/jobs/:id',
    {
      config: { permission: 'rounds.read' },
      schema: {
        tags: ['jobs'],
        summary: 'One analytics job in full',
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
        response: { 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const job = await ctx.store.getJob(req.params.id);
      if (!job) return reply.code(404).send({ error: 'not_found', message: `no job ${req.params.id}` });
      return job;
    },
  );
}
