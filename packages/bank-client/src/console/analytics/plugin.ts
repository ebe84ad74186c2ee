/**
 * What analytics jobs left for this bank (bank-client/src/analytics/state.ts), as the console
 * shows it:
 *
 *   GET /api/segments               the last segmentation: this bank's customers by segment,
 *                                   under their keyed pseudonyms, with each segment's name,
 *                                   centre (original units) and count
 *   GET /api/consortium-threshold   the consortium's anomaly-score threshold (calibration job),
 *                                   which the Accounts page offers as its score cut-off
 *
 * Both read the sealed state files the daemon wrote; nothing here talks to the aggregator.
 */
import type { FastifyInstance } from 'fastify';
import {
  CONSORTIUM_THRESHOLD_FILE,
  readJsonState,
  SEGMENTS_FILE,
  type StoredSegmentation,
  type StoredThreshold,
} from '../../analytics/state.js';
import type { ConsoleContext } from '../context.js';

/** Pseudonyms per segment sent to the page at most (the count is always the full one). */
const MAX_LISTED = 500;

export default async function analytics(app: FastifyInstance, ctx: ConsoleContext & { stateDir: string }) {
  app.get(
    '/api/segments',
    {
      config: { access: 'accounts.read' },
      schema: {
        tags: ['analytics'],
        summary: "This bank's customers by consortium segment (pseudonyms), from the last segmentation job",
      },
    },
    async () => {
      const s = readJsonState<StoredSegmentation>(ctx.stateDir, SEGMENTS_FILE, ctx.db.cipher);
      if (!s) return { segmentation: null };
      return {
        segmentation: {
          jobId: s.jobId,
          at: s.at,
          features: s.features,
          customers: s.segments.reduce((n, x) => n + x.customers.length, 0),
          segments: s.segments.map((x) => ({
            index: x.index,
            name: x.name,
            centre: x.centre,
            count: x.customers.length,
            customers: x.customers.slice(0, MAX_LISTED),
          })),
        },
      };
    },
  );

  app.get(
    '/api/consortium-threshold',
    {
      config: { access: 'accounts.read' },
      schema: {
        tags: ['analytics'],
        summary: 'The consortium anomaly-score threshold from the last calibration job (null when none ran)',
      },
    },
    async () => ({ threshold: readJsonState<StoredThreshold>(ctx.stateDir, CONSORTIUM_THRESHOLD_FILE, ctx.db.cipher) }),
  );
}
