/** Training config (get/set, validated) and control (start, pause, stop), plus status and privacy. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { applySettingsPatch } from '../../federation/settings.js';
import type { ServerContext } from '../context.js';
import { ErrorReply, jsonSchema } from '../schema.js';

/**
 * The patch is only a shape check; the merged result is what gets validated. (A
 * `.partial()` of the real schemas would fill in zod defaults for fields the admin did
 * not send, silently resetting them.) `null` removes an optional training field, e.g.
 * `training.dp: null` removes differential privacy.
 */
const SettingsPatch = z
  .object({
    training: z.record(z.string(), z.unknown()).optional(),
    rules: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export default async function training(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/status',
    {
      preValidation: app.requireViewer,
      schema: { tags: ['training'], summary: 'Training state, current round and phase' },
    },
    async () => ctx.federation.status(),
  );

  app.get(
    '/api/config',
    {
      preValidation: app.requireViewer,
      schema: { tags: ['training'], summary: 'Training config and round rules in force' },
    },
    async () => ctx.federation.getSettings(),
  );

  app.put<{ Body: unknown }>(
    '/api/config',
    {
      preValidation: app.requireAdmin,
      schema: {
        tags: ['training'],
        summary:
          'Change training config and round rules (fields not given keep their value); applies from the next round',
        body: jsonSchema(SettingsPatch),
        response: { 400: ErrorReply },
      },
    },
    async (req, reply) => {
      const patch = SettingsPatch.parse(req.body);
      // Merged and validated inside the federation's queue, so concurrent changes never lose one.
      const result = await ctx.federation.updateSettings((current) => applySettingsPatch(current, patch));
      if (result instanceof Error) return reply.code(400).send({ error: 'invalid_config', message: result.message });
      return result;
    },
  );

  for (const action of ['start', 'pause', 'stop'] as const) {
    app.post(
      `/api/training/${action}`,
      {
        preValidation: app.requireAdmin,
        schema: { tags: ['training'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} training` },
      },
      async () => ({ state: await ctx.federation.control(action) }),
    );
  }

  app.get(
    '/api/privacy',
    {
      preValidation: app.requireViewer,
      schema: { tags: ['training'], summary: 'Privacy spent (ε) per bank, from the Rényi-DP accountant' },
    },
    async () => ({
      delta: ctx.federation.getSettings().training.dp?.delta ?? 1e-5,
      budget: ctx.federation.getSettings().training.dp?.epsilonBudget ?? null,
      epsilon: ctx.federation.epsilons(),
    }),
  );
}
