/**
 * The feedback loop as the console shows it: how many labels this bank's analysts have
 * confirmed (each joins the next rounds' training, see ../../feedback.ts), how many each
 * round trained with, and the bank's local validation metrics of every global model it
 * evaluated, so an ML engineer sees whether they moved.
 */
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { FeedbackHistoryFile } from '../../feedback.js';

export default async function feedback(app: FastifyInstance, ctx: ConsoleContext & { stateDir: string }) {
  const history = new FeedbackHistoryFile(ctx.stateDir, ctx.db.cipher);
  app.get(
    '/api/feedback',
    {
      config: { access: 'alerts.read' },
      schema: {
        tags: ['feedback'],
        summary: 'Labels contributed to training, labels used per round, local validation metrics per model',
      },
    },
    async () => {
      const labels = ctx.db.confirmedLabels();
      const fraud = labels.filter((l) => l.label === 1).length;
      const h = history.read();
      return {
        labels: { total: labels.length, confirmedFraud: fraud, falsePositive: labels.length - fraud },
        rounds: h.rounds,
        evaluations: h.evaluations,
      };
    },
  );
}
