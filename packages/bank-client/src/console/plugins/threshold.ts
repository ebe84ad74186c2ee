/**
 * The operating threshold page's API: the current threshold (or "not chosen yet") with
 * what it implies and its PR curve, and choosing one (ml-engineer, admin; audited).
 */
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { NoModelError } from '../scorer.js';
import {
  chooseOperatingThreshold,
  currentThreshold,
  THRESHOLD_KEY,
  ThresholdChoiceError,
  ValidationScores,
  type ThresholdTargetKind,
} from '../threshold.js';

export default async function threshold(app: FastifyInstance, ctx: ConsoleContext) {
  const { db } = ctx;
  const tags = ['threshold'];
  const validation = ctx.validation ? new ValidationScores(ctx.validation) : null;

  app.get(
    '/api/threshold',
    {
      config: { access: 'threshold.read' },
      schema: { tags, summary: 'The operating threshold (null when not chosen yet), what it implies, the PR curve' },
    },
    async () => {
      const t = currentThreshold(db);
      return {
        threshold: t,
        message: t
          ? null
          : 'not chosen yet: nothing is flagged until an ML engineer or admin chooses the operating threshold',
        targets: (validation
          ? ['fpr', 'precision', 'alerts-per-day', 'probability']
          : ['probability']) as ThresholdTargetKind[],
        validation: validation !== null,
      };
    },
  );

  app.put<{ Body: { kind: ThresholdTargetKind; value: number } }>(
    '/api/threshold',
    {
      config: { access: 'threshold.write' },
      schema: {
        tags,
        summary: 'Choose the operating threshold by a target on the validation split, or as a probability (audited)',
        description:
          'kind "fpr": the most recall with a false-positive rate ≤ value; "precision": the most recall with precision ≥ value; ' +
          '"alerts-per-day": the most recall with at most value alerts a day; "probability": flag when the fraud probability ≥ value. ' +
          'Targets are met on the bank validation split; an unreachable target is answered 422 with the closest achievable point.',
        body: {
          type: 'object',
          required: ['kind', 'value'],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['probability', 'fpr', 'precision', 'alerts-per-day'] },
            value: { type: 'number' },
          },
        },
      },
    },
    async (req, reply) => {
      let model;
      try {
        model = await ctx.scorer.current();
      } catch (err) {
        if (err instanceof NoModelError) return reply.code(503).send({ error: 'no_model', message: err.message });
        throw err;
      }
      try {
        const t = await chooseOperatingThreshold({
          kind: req.body.kind,
          value: req.body.value,
          model,
          validation,
          chosenBy: req.operator!.name,
          at: ctx.now(),
        });
        const { curve: _curve, ...details } = t;
        db.setSetting(THRESHOLD_KEY, t, { at: t.at, type: 'threshold.chosen', actor: t.chosenBy, details });
        return t;
      } catch (err) {
        if (err instanceof ThresholdChoiceError)
          return reply.code(400).send({ error: 'bad_target', message: err.message });
        if ((err as Error).name === 'ThresholdUnreachableError') {
          return reply.code(422).send({
            error: 'unreachable',
            message: (err as Error).message,
            closest: (err as Error & { closest: unknown }).closest,
          });
        }
        throw err;
      }
    },
  );
}
