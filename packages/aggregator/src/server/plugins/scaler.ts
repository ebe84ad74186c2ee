/** The consortium's global scaler: read it, and let an admin re-fix it between rounds. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ControlRefused } from '../../federation/federation.js';
import type { ServerContext } from '../context.js';
import { ErrorReply, jsonSchema, parseInput } from '../schema.js';

const RefitBody = z
  .object({
    /** Banks whose statistics must not be used (e.g. the ones the health check flags). */
    exclude: z.array(z.string().max(64)).max(10_000).optional(),
  })
  .strict()
  .nullable();

export default async function scaler(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/scaler',
    {
      config: { permission: 'settings.read' },
      schema: {
        tags: ['training'],
        summary: 'The global standard scaler (per-feature mean and std), null before round 1',
      },
    },
    async () => ({ scaler: ctx.federation.globalModel().scaler }),
  );

  app.post<{ Body: unknown }>(
    '/api/scaler/refit',
    {
      config: { permission: 'training.control' },
      schema: {
        tags: ['training'],
        summary:
          "Re-fix the global scaler from the connected banks' statistics (optionally excluding some); between rounds only, audited",
        body: jsonSchema(RefitBody),
        response: { 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const body = parseInput(RefitBody, req.body ?? null, 'body') ?? {};
      try {
        return await ctx.federation.refitScaler(req.actor, body.exclude ?? []);
      } catch (err) {
        if (err instanceof ControlRefused)
          return reply.code(409).send({ error: 'refit_refused', message: err.message });
        throw err;
      }
    },
  );
}
