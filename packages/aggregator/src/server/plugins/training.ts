/** Training config (get/set, validated) and control (start, pause, stop), plus status and privacy. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ControlRefused } from '../../federation/federation.js';
import { applySettingsPatch } from '../../federation/settings.js';
import { unknownSettings } from '../../config/load.js';
import type { ServerContext } from '../context.js';
import { ErrorReply, jsonSchema, parseInput } from '../schema.js';
import { EpsilonSchema, epsilonsForJson } from '../epsilon.js';

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

const StartBody = z
  .object({ additionalRounds: z.number().int().min(1).max(100_000).optional() })
  .strict()
  .nullable();

export default async function training(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/status',
    {
      config: { permission: 'charts.read' },
      schema: { tags: ['training'], summary: 'Training state, current round and phase' },
    },
    async () => ctx.federation.status(),
  );

  app.get(
    '/api/config',
    {
      config: { permission: 'settings.read' },
      schema: { tags: ['training'], summary: 'Training config and round rules in force' },
    },
    async () => ctx.federation.getSettings(),
  );

  app.put<{ Body: unknown }>(
    '/api/config',
    {
      config: { permission: 'settings.write' },
      schema: {
        tags: ['training'],
        summary:
          'Change training config and round rules (fields not given keep their value); applies from the next round',
        body: jsonSchema(SettingsPatch),
        response: { 400: ErrorReply },
      },
    },
    async (req, reply) => {
      const patch = parseInput(SettingsPatch, req.body, 'body');
      // Refused as in a config file: the merge would drop a misspelt key, and answer 200 for nothing.
      const unknown = unknownSettings('body', patch);
      if (unknown.length) return reply.code(400).send({ error: 'invalid_config', message: unknown.join('\n') });
      // Merged and validated inside the federation's queue, so concurrent changes never lose one.
      const result = await ctx.federation.updateSettings((current) => applySettingsPatch(current, patch), req.actor);
      if (result instanceof Error) return reply.code(400).send({ error: 'invalid_config', message: result.message });
      return result;
    },
  );

  app.post<{ Body: { additionalRounds?: number } | null }>(
    '/api/training/start',
    {
      config: { permission: 'training.control' },
      schema: {
        tags: ['training'],
        summary:
          'Start (or resume) training. A finished federation needs additionalRounds: the round budget becomes the committed rounds plus that many',
        body: jsonSchema(StartBody),
        response: { 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const body = parseInput(StartBody, req.body ?? {}, 'body') ?? {};
      try {
        return { state: await ctx.federation.control('start', req.actor, body) };
      } catch (err) {
        if (err instanceof ControlRefused)
          return reply.code(409).send({ error: 'training_finished', message: err.message });
        throw err;
      }
    },
  );
  for (const action of ['pause', 'stop'] as const) {
    app.post(
      `/api/training/${action}`,
      {
        config: { permission: 'training.control' },
        schema: { tags: ['training'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} training` },
      },
      async (req) => ({ state: await ctx.federation.control(action, req.actor) }),
    );
  }

  app.get(
    '/api/privacy',
    {
      config: { permission: 'charts.read' },
      schema: {
        tags: ['training'],
        summary: 'Privacy spent (ε) per bank, from the Rényi-DP accountant',
        description:
          'Only banks that trained with DP appear. ε is a number, or the string "Infinity" for a bank that added no noise (noise multiplier 0).',
        response: {
          200: {
            type: 'object',
            properties: {
              delta: { type: 'number' },
              budget: { type: ['number', 'null'] },
              epsilon: { type: 'object', additionalProperties: EpsilonSchema },
            },
            required: ['delta', 'budget', 'epsilon'],
          },
        },
      },
    },
    async () => ({
      delta: ctx.federation.getSettings().training.dp?.delta ?? 1e-5,
      budget: ctx.federation.getSettings().training.dp?.epsilonBudget ?? null,
      epsilon: epsilonsForJson(ctx.federation.epsilons()),
    }),
  );
}
