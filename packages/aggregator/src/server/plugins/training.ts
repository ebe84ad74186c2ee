/** Training config (get/set, validated) and control (start, pause, stop), plus status and privacy. */
import type { FastifyInstance } from 'fastify';
import { TrainingConfig } from '@finsecure/common/protocol';
import { z } from 'zod';
import { RoundRules } from '../../round/rules.js';
import { describeIssues } from '../../config/load.js';
import type { ServerContext } from '../context.js';
import { ErrorReply, jsonSchema } from '../schema.js';

const Settings = z.object({ training: TrainingConfig, rules: RoundRules });
const SettingsPatch = z.object({
  training: TrainingConfig.partial().optional(),
  rules: z.record(z.string(), z.unknown()).optional(),
});

export default async function training(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/status',
    {
      preHandler: app.requireViewer,
      schema: { tags: ['training'], summary: 'Training state, current round and phase' },
    },
    async () => ctx.federation.status(),
  );

  app.get(
    '/api/config',
    {
      preHandler: app.requireViewer,
      schema: { tags: ['training'], summary: 'Training config and round rules in force' },
    },
    async () => ctx.federation.getSettings(),
  );

  app.put<{ Body: unknown }>(
    '/api/config',
    {
      preHandler: app.requireAdmin,
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
      const current = ctx.federation.getSettings();
      const merged = {
        training: { ...current.training, ...patch.training },
        rules: { ...current.rules, ...patch.rules },
      };
      const parsed = Settings.safeParse(merged);
      if (!parsed.success)
        return reply
          .code(400)
          .send({ error: 'invalid_config', message: `invalid settings:\n${describeIssues(parsed.error)}` });
      return ctx.federation.updateSettings(parsed.data);
    },
  );

  for (const action of ['start', 'pause', 'stop'] as const) {
    app.post(
      `/api/training/${action}`,
      {
        preHandler: app.requireAdmin,
        schema: { tags: ['training'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} training` },
      },
      async () => ({ state: await ctx.federation.control(action) }),
    );
  }

  app.get(
    '/api/privacy',
    {
      preHandler: app.requireViewer,
      schema: { tags: ['training'], summary: 'Privacy spent (ε) per bank, from the Rényi-DP accountant' },
    },
    async () => ({
      delta: ctx.federation.getSettings().training.dp?.delta ?? 1e-5,
      budget: ctx.federation.getSettings().training.dp?.epsilonBudget ?? null,
      epsilon: ctx.federation.epsilons(),
    }),
  );
}
