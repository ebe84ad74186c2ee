/**
 * Scoring: `POST /api/score` (one transaction or a batch, JSON, for real-time use) and
 * `POST /api/uploads` (a CSV file, multipart, streamed to a spool file and read by the
 * common loader in any supported layout or the bank's column mapping). Flagged
 * transactions (at or above the operating threshold) become alerts; an upload's alerts
 * are stored all together or not at all.
 */
import { rm } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DataError, loadCsv, type ColumnMapping } from '@finsecure/common/data';
import type { ConsoleContext } from '../context.js';
import { bad, spoolUpload } from '../upload.js';
import type { AlertInput } from '../db.js';
import { featureSchema, readIds, SchemaError, type FeatureSchema, type RowIds } from '../features.js';
import { alertOf, isFlagged, parseTransactions, scaleAndScore, ScoreInputError } from '../scoring.js';
import { NoModelError, type LoadedModel } from '../scorer.js';
import { currentThreshold } from '../threshold.js';

export default async function score(app: FastifyInstance, ctx: ConsoleContext) {
  const { db, scorer, explainer } = ctx;
  const tags = ['scoring'];

  // One feature schema per loaded model (the layout is fixed for the console's lifetime).
  const schemas = new WeakMap<LoadedModel, FeatureSchema>();
  async function modelAndSchema(reply: FastifyReply) {
    try {
      const model = await scorer.current();
      let schema = schemas.get(model);
      if (!schema) schemas.set(model, (schema = featureSchema(ctx.layout, model.spec.inputSize)));
      return { model, schema };
    } catch (err) {
      if (err instanceof NoModelError) return void bad(reply, 503, 'no_model', err.message);
      if (err instanceof SchemaError) return void bad(reply, 500, 'layout', err.message);
      throw err;
    }
  }

  app.post<{ Body: unknown }>(
    '/api/score',
    {
      config: { access: 'scores.create' },
      schema: {
        tags,
        summary: 'Score one transaction (an object) or a batch ({"transactions": [...]}); flagged ones become alerts',
        description:
          "Fields: the model's features by name (GET /api/score/schema), optionally transactionId, accountId, time. " +
          'Missing and unknown fields are named in the 400 answer. Scores: logit and probability σ(logit) in float64.',
      },
    },
    async (req, reply) => {
      const ms = await modelAndSchema(reply);
      if (!ms) return reply;
      const b = req.body as Record<string, unknown> | null;
      const batch = b !== null && typeof b === 'object' && !Array.isArray(b) && 'transactions' in b;
      const list = batch ? b.transactions : [b];
      if (!Array.isArray(list) || list.length === 0)
        return bad(reply, 400, 'bad_request', '"transactions" must be a non-empty array of transactions');
      if (batch && Object.keys(b).length > 1)
        return bad(
          reply,
          400,
          'bad_request',
          `unknown field${Object.keys(b).length > 2 ? 's' : ''} ${Object.keys(b)
            .filter((k) => k !== 'transactions')
            .join(', ')} beside "transactions"`,
        );
      if (list.length > ctx.maxBatch)
        return bad(
          reply,
          413,
          'too_many',
          `at most ${ctx.maxBatch} transactions per request (got ${list.length}); upload a CSV for more`,
        );
      let parsed;
      try {
        parsed = parseTransactions(list, ms.schema);
      } catch (err) {
        if (err instanceof ScoreInputError)
          return bad(reply, 400, 'bad_transaction', err.message, { problems: err.problems });
        throw err;
      }
      const { model, schema } = ms;
      let scored;
      try {
        scored = scaleAndScore(model, parsed.features, parsed.n, (row, j) => {
          throw new ScoreInputError([
            `${parsed.n === 1 ? 'transaction' : `transaction ${row}`}: field ${schema.names[j]} is out of range once scaled with the model's scaler`,
          ]);
        });
      } catch (err) {
        if (err instanceof ScoreInputError)
          return bad(reply, 400, 'bad_transaction', err.message, { problems: err.problems });
        throw err;
      }
      const threshold = currentThreshold(db);
      const at = ctx.now();
      const flaggedRows: number[] = [];
      const alerts: AlertInput[] = [];
      for (let i = 0; i < parsed.n; i++) if (isFlagged(scored.scores, i, threshold)) flaggedRows.push(i);
      // Real-time use: a flagged transaction's reasons come back with its score.
      const explain = flaggedRows.length ? await explainer.forModel(model) : null;
      for (const i of flaggedRows) {
        alerts.push(
          alertOf({
            i,
            source: `api:${req.operator!.name}`,
            line: null,
            ids: parsed.ids[i]!,
            fallbackId: `api-${at}-${i}`,
            schema,
            raw: parsed.features,
            scaled: scored.scaled,
            scores: scored.scores,
            model,
            explain,
          }),
        );
      }
      const alertIds = db.insertApiAlerts(alerts, at);
      const alertOfRow = new Map(flaggedRows.map((r, k) => [r, alertIds[k]!]));
      const results = parsed.ids.map((ids, i) => ({
        transactionId: ids.transactionId,
        accountId: ids.accountId,
        time: ids.time,
        logit: scored.scores.logits[i]!,
        probability: scored.scores.probabilities[i]!,
        flagged: alertOfRow.has(i),
        alertId: alertOfRow.get(i) ?? null,
        reasons: alertOfRow.has(i) ? (alerts[flaggedRows.indexOf(i)]!.explanation?.reasons ?? []) : [],
      }));
      const meta = {
        modelVersion: model.version,
        threshold: threshold ? { logit: threshold.logit, probability: threshold.probability } : null,
      };
      return batch ? { ...meta, results } : { ...meta, ...results[0] };
    },
  );

  app.get(
    '/api/score/schema',
    {
      config: { access: 'scores.create' },
      schema: { tags, summary: "The fields a JSON transaction has (the model's features)" },
    },
    async (_req, reply) => {
      const ms = await modelAndSchema(reply);
      if (!ms) return reply;
      return {
        modelVersion: ms.model.version,
        numeric: ms.schema.numeric,
        categorical: ms.schema.categorical,
        ids: ['transactionId', 'accountId', 'time'],
      };
    },
  );

  app.post(
    '/api/uploads',
    {
      config: { access: 'scores.create' },
      schema: {
        tags,
        summary:
          'Upload a CSV of transactions (multipart field "file", plain or gzip) to score; flagged rows become alerts',
        description:
          'Any layout the bank loader reads (Kaggle, handbook, FinSecure, or the bank column mapping); the label column may be absent. ' +
          'A malformed row is answered 400 with its line and column, and nothing is stored; a file over the limit is answered 413.',
      },
    },
    async (req, reply) => {
      const ms = await modelAndSchema(reply);
      if (!ms) return reply;
      const { model, schema } = ms;
      const up = await spoolUpload(req, reply, {
        spoolDir: ctx.spoolDir,
        maxUploadBytes: ctx.maxUploadBytes,
        prefix: 'upload',
        what: 'the CSV',
      });
      if (!up) return reply;
      const { file: spool, name } = up;
      try {
        const mapping = typeof ctx.layout === 'object' ? (ctx.layout as ColumnMapping) : undefined;
        let loaded;
        try {
          loaded = await loadCsv(spool, { layout: ctx.layout, requireLabel: false, keepLineNumbers: true });
        } catch (err) {
          if (err instanceof DataError) {
            return bad(reply, 400, 'bad_csv', err.message.split(spool).join(name), {
              file: name,
              line: err.line ?? null,
              column: err.column ?? null,
            });
          }
          throw err;
        }
        const ds = loaded.dataset;
        const lineOf = (row: number) => loaded.lineNumbers![row]!;
        if (ds.featureNames.join('\u0000') !== schema.names.join('\u0000')) {
          return bad(
            reply,
            400,
            'bad_csv',
            `${name}: its features (${ds.featureNames.length}) are not the model's (${schema.names.length}: ${schema.names.slice(0, 5).join(', ')}, ...): export it in the bank's layout`,
          );
        }
        let scored;
        try {
          scored = scaleAndScore(model, ds.features, ds.numRows, (row, j) => {
            throw DataError.at(
              name,
              lineOf(row),
              schema.names[j],
              "value is out of range once scaled with the model's scaler",
            );
          });
        } catch (err) {
          if (err instanceof DataError) {
            return bad(reply, 400, 'bad_csv', err.message, {
              file: name,
              line: err.line ?? null,
              column: err.column ?? null,
            });
          }
          throw err;
        }
        const threshold = currentThreshold(db);
        const flagged: number[] = [];
        for (let i = 0; i < ds.numRows; i++) if (isFlagged(scored.scores, i, threshold)) flagged.push(i);
        const ids = await readIds(spool, new Set(flagged.map(lineOf)), mapping, ctx.idColumn);
        const empty: RowIds = { transactionId: null, accountId: null, time: null };
        const alerts = flagged.map((i) =>
          alertOf({
            i,
            source: name,
            line: lineOf(i),
            ids: ids.get(lineOf(i)) ?? empty,
            fallbackId: `${name}:${lineOf(i)}`,
            schema,
            raw: ds.features,
            scaled: scored.scaled,
            scores: scored.scores,
            model,
            explain: null,
          }),
        );
        const at = ctx.now();
        const { uploadId, alertIds } = db.insertUpload(
          { name, rows: ds.numRows, modelVersion: model.version, by: req.operator!.name, at },
          alerts,
        );
        // Reasons in the background, highest score first (see explain-queue.ts).
        const order = alertIds.map((id, k) => ({ id, raw: alerts[k]!.features, logit: alerts[k]!.logit }));
        order.sort((a, b) => b.logit - a.logit);
        if (order.length) {
          explainer
            .forModel(model)
            .then((fn) => ctx.explainQueue.enqueue(model, fn, schema.names, order))
            .catch((err: unknown) => req.log.error({ err }, 'cannot explain the upload alerts'));
        }
        return reply.code(201).send({
          uploadId,
          file: name,
          rows: ds.numRows,
          flagged: alerts.length,
          modelVersion: model.version,
          threshold: threshold ? { logit: threshold.logit, probability: threshold.probability } : null,
          /** Alerts whose reasons are being computed in the background (highest score first). */
          explaining: alerts.length,
          notices: loaded.notices.map((m) => m.split(spool).join(name)),
          message: threshold
            ? `scored ${ds.numRows} transactions, ${alerts.length} flagged`
            : `scored ${ds.numRows} transactions; no operating threshold chosen yet, so nothing was flagged (Threshold page)`,
        });
      } finally {
        await rm(spool, { force: true });
      }
    },
  );
}
