/**
 * The alert queue: flagged transactions by descending score with filters, one alert's
 * detail (transaction, score, reasons, similar past cases, decisions), and analysts'
 * decisions, each stored with the analyst's name and time and appended to the bank's
 * hash-chained audit log in the same database transaction.
 */
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.js';
import { ALERT_STATUSES, DECISIONS, type AlertRecord, type AlertStatus, type Decision } from '../alert-types.js';
import { NoModelError, Scorer } from '../scorer.js';
import { nearestAlerts } from '../similar.js';

const summary = (a: AlertRecord) => ({
  id: a.id,
  transactionId: a.transactionId,
  accountId: a.accountId,
  time: a.time,
  amount: a.amount,
  logit: a.logit,
  probability: a.probability,
  status: a.status,
  source: a.source,
  line: a.line,
  modelVersion: a.modelVersion,
  createdAt: a.createdAt,
});

/** Why the filter's ranges cannot match anything (a lower bound above its upper bound), or null. */
export function rangeError(q: { from?: string; to?: string; minAmount?: number; maxAmount?: number }): string | null {
  const out: string[] = [];
  // Both dates are YYYY-MM-DD (the schema's format), so their text order is their date order.
  if (q.from !== undefined && q.to !== undefined && q.from > q.to)
    out.push(`from (${q.from}) is after to (${q.to}): the date range is empty`);
  if (q.minAmount !== undefined && q.maxAmount !== undefined && q.minAmount > q.maxAmount)
    out.push(`minAmount (${q.minAmount}) is greater than maxAmount (${q.maxAmount}): the amount range is empty`);
  return out.length ? out.join('; ') : null;
}

export default async function alerts(app: FastifyInstance, ctx: ConsoleContext) {
  const { db } = ctx;
  const tags = ['alerts'];
  const read = { access: 'alerts.read' as const };

  app.get<{
    Querystring: {
      status?: AlertStatus;
      from?: string;
      to?: string;
      minAmount?: number;
      maxAmount?: number;
      limit?: number;
      offset?: number;
    };
  }>(
    '/api/alerts',
    {
      config: read,
      schema: {
        tags,
        summary: 'Flagged transactions, highest score first',
        description: 'A lower bound above its upper bound (from after to, minAmount over maxAmount) is answered 400.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...ALERT_STATUSES] },
            from: { type: 'string', format: 'date', description: 'flagged on or after this day (UTC), YYYY-MM-DD' },
            to: { type: 'string', format: 'date', description: 'flagged on or before this day (UTC), YYYY-MM-DD' },
            minAmount: { type: 'number' },
            maxAmount: { type: 'number' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            offset: { type: 'integer', minimum: 0, maximum: 2_147_483_647, default: 0 },
          },
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      // A contradictory range matches nothing by construction: answered as the mistake it is
      // (a mistyped bound), naming both values, rather than as an empty queue the analyst
      // would read as "no alerts".
      const range = rangeError(q);
      if (range) return reply.code(400).send({ error: 'bad_range', message: range });
      const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
      const out = db.listAlerts({
        ...(q.status ? { status: q.status } : {}),
        ...(q.from ? { from: day(q.from) } : {}),
        ...(q.to ? { to: day(q.to) + 86_400_000 } : {}),
        ...(q.minAmount !== undefined ? { minAmount: q.minAmount } : {}),
        ...(q.maxAmount !== undefined ? { maxAmount: q.maxAmount } : {}),
        limit: q.limit ?? 50,
        offset: q.offset ?? 0,
      });
      return { total: out.total, counts: db.countAlerts(), alerts: out.alerts.map(summary) };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/alerts/:id',
    {
      config: read,
      schema: {
        tags,
        summary: 'One alert: the transaction, its score, reasons, similar past cases and decisions',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
      },
    },
    async (req, reply) => {
      const a = db.getAlert(req.params.id);
      if (!a) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
      let std: ArrayLike<number> = a.features.map(() => 1);
      let explanationNote: string | null = null;
      try {
        const model = await ctx.scorer.current();
        if (model.scaler && model.scaler.std.length === a.features.length) std = model.scaler.std;
        // Not explained yet (an upload's alerts are explained in the background): now, with
        // the model that scored it, if that is still the current one.
        if (a.explanation === null && model.version === a.modelVersion && model.spec.inputSize === a.features.length) {
          const raw = Float32Array.from(a.features);
          const scaled = raw.slice();
          Scorer.scale(model, scaled);
          a.explanation = (await ctx.explainer.forModel(model))(scaled, raw, a.featureNames);
          db.setExplanation(a.id, a.explanation);
        } else if (a.explanation === null) {
          explanationNote = `scored with model v${a.modelVersion}; the console now has v${model.version}, so its reasons were not computed`;
        }
      } catch (err) {
        if (!(err instanceof NoModelError)) throw err;
        // No model (any more): distances in raw units, no new reasons.
      }
      const similar = nearestAlerts(db, a.id, a.features, std).map((nb) => {
        const s = db.getAlert(nb.id)!;
        const last = db.decisionsOf(s.id).at(-1) ?? null;
        return { ...summary(s), distance: nb.distance, decision: last };
      });
      return {
        ...summary(a),
        features: Object.fromEntries(a.featureNames.map((n, j) => [n, a.features[j]])),
        reasons: a.explanation?.reasons ?? [],
        bars: a.explanation?.bars ?? [],
        explanationNote,
        explanation: a.explanation
          ? { method: a.explanation.method, baseValue: a.explanation.baseValue, background: a.explanation.background }
          : null,
        similar,
        decisions: db.decisionsOf(a.id),
      };
    },
  );

  app.post<{ Params: { id: number }; Body: { decision: Decision; note?: string } }>(
    '/api/alerts/:id/decision',
    {
      config: { access: 'alerts.decide' },
      schema: {
        tags,
        summary: 'Decide an alert: confirmed_fraud, false_positive or not_sure, with a note (audited)',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
        body: {
          type: 'object',
          required: ['decision'],
          additionalProperties: false,
          properties: { decision: { type: 'string', enum: [...DECISIONS] }, note: { type: 'string', maxLength: 2000 } },
        },
      },
    },
    async (req, reply) => {
      const op = req.operator!;
      const out = db.decide(req.params.id, {
        decision: req.body.decision,
        note: (req.body.note ?? '').trim(),
        analyst: op.name,
        analystId: op.accountId,
        at: ctx.now(),
      });
      if (!out) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
      return reply.code(201).send(out);
    },
  );

  app.get<{ Querystring: { afterSeq?: number; limit?: number } }>(
    '/api/audit',
    {
      config: { access: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: "The bank's local hash-chained audit log",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            afterSeq: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
      },
    },
    async (req) => db.listAudit(req.query),
  );

  app.get(
    '/api/audit/verify',
    {
      config: { access: 'audit.read' },
      schema: { tags: ['audit'], summary: 'Check the hash chain of the local audit log' },
    },
    async () => db.verifyAudit(),
  );
}
