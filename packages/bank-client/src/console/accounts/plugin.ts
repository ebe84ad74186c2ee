/**
 * The Accounts page's API: account anomaly reports and transaction-level Isolation Forest
 * scores of an uploaded file, computed in the bank by the same code as `finsecure-bank
 * accounts` (../../account-report.ts), kept in memory per person (store.ts says why).
 *
 *   POST /api/accounts/reports?layout&detector&contamination&seed&neighbors&reasons  (multipart "file")
 *   POST /api/accounts/transactions?contamination&seed&reasons                       (multipart "file")
 *   GET  /api/accounts/reports                     the caller's reports
 *   GET  /api/accounts/reports/:id?contamination|cutoff&offset&limit&flagged
 *   GET  /api/accounts/reports/:id/csv?contamination|cutoff
 *
 * Uploads stream to a spool file (0600, deleted right after) under the console's upload
 * size limit; a bad cell is answered 400 naming the file, line and column.
 */
import { rm } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { QUERY_READ_BY_ROUTE } from '@finsecure/accounts/http';
import { DataError } from '@finsecure/common/data';
import { AccountReportSettings, type ReportCut } from '../../account-report.js';
import type { ConsoleContext } from '../context.js';
import { bad, spoolUpload } from '../upload.js';
import { ReportStore, type StoredReport } from './store.js';
import { ReportThreads } from './report-thread.js';
import { reportCsv, reportView } from './view.js';

/** Query strings are text: numbers parsed strictly, every bad setting named. */
function parseQuery<T extends z.ZodTypeAny>(
  schema: T,
  query: unknown,
  numeric: readonly string[],
): z.infer<T> | string {
  const q = { ...(query as Record<string, unknown>) };
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q)) {
    if (typeof v !== 'string') {
      problems.push(`${k} must be given once`);
      continue;
    }
    if (numeric.includes(k)) {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) problems.push(`${k} must be a number, got "${v}"`);
      else out[k] = n;
    } else out[k] = v;
  }
  if (problems.length) return problems.join('; ');
  const parsed = schema.safeParse(out);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
  return parsed.data as z.infer<T>;
}

const RunQuery = AccountReportSettings.strict();
const TxQuery = AccountReportSettings.pick({ contamination: true, seed: true, reasons: true }).strict();
const ViewQuery = z
  .object({
    contamination: z.number().gt(0).lte(0.5).optional(),
    cutoff: z.number().optional(),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(1000).default(100),
    flagged: z.enum(['0', '1']).default('0'),
  })
  .strict()
  .refine((q) => q.contamination === undefined || q.cutoff === undefined, {
    message: 'give contamination or cutoff, not both',
  });
const CutQuery = z
  .object({ contamination: z.number().gt(0).lte(0.5).optional(), cutoff: z.number().optional() })
  .strict()
  .refine((q) => q.contamination === undefined || q.cutoff === undefined, {
    message: 'give contamination or cutoff, not both',
  });

const cutOf = (q: { contamination?: number; cutoff?: number }): ReportCut | null =>
  q.cutoff !== undefined
    ? { cutoff: q.cutoff }
    : q.contamination !== undefined
      ? { contamination: q.contamination }
      : null;

export default async function accountsPlugin(app: FastifyInstance, ctx: ConsoleContext) {
  const store = new ReportStore();
  // Reports run on a worker thread, one at a time: seconds of detector work never hold this server.
  const threads = new ReportThreads();
  const tags = ['accounts'];

  /** Streams the multipart file to a spool file (upload.ts); answers the error itself and returns null. */
  const spool = (req: FastifyRequest, reply: FastifyReply) =>
    spoolUpload(req, reply, {
      spoolDir: ctx.spoolDir,
      maxUploadBytes: ctx.maxUploadBytes,
      prefix: 'accounts',
      what: 'the file',
    });

  /** Bad input named by file, line and column (the spool path replaced by the upload's name). */
  function inputError(reply: FastifyReply, err: unknown, spoolFile: string, name: string) {
    if (err instanceof DataError) {
      return bad(reply, 400, 'bad_file', err.message.split(spoolFile).join(name), {
        file: name,
        line: err.line ?? null,
        column: err.column ?? null,
      });
    }
    if (err instanceof RangeError) return bad(reply, 400, 'bad_request', err.message);
    throw err;
  }

  function created(reply: FastifyReply, stored: StoredReport, notices: string[] = []) {
    return reply.code(201).send({
      ...reportView(stored, { cut: null, offset: 0, limit: 100, flaggedOnly: false }),
      notices,
    });
  }

  app.post(
    '/api/accounts/reports',
    {
      config: { access: 'accounts.run' },
      schema: {
        tags,
        summary: 'Upload a transaction file (multipart "file") and build its account anomaly report',
        description:
          'Layouts: handbook (CUSTOMER_ID…), Berka trans.asc, plain export (Timestamp,TransactionID,AccountID,…), or auto. ' +
          'Query: layout, detector (iforest|lof), contamination (0, 0.5], seed, neighbors, reasons — as `finsecure-bank accounts`. ' +
          'A bad cell is answered 400 with file, line and column; a file over the limit 413.',
        querystring: QUERY_READ_BY_ROUTE,
      },
    },
    async (req, reply) => {
      const settings = parseQuery(RunQuery, req.query, ['contamination', 'seed', 'neighbors', 'reasons']);
      if (typeof settings === 'string') return bad(reply, 400, 'bad_request', settings);
      const up = await spool(req, reply);
      if (!up) return reply;
      try {
        const run = await threads.run({ kind: 'accounts', file: up.file, settings });
        const stored = store.add({
          kind: 'accounts',
          owner: req.operator!.name,
          file: up.name,
          createdAt: ctx.now(),
          layout: run.layout,
          settings,
          report: run.report,
          seconds: run.seconds,
        });
        return created(reply, stored);
      } catch (err) {
        return inputError(reply, err, up.file, up.name);
      } finally {
        await rm(up.file, { force: true });
      }
    },
  );

  app.post(
    '/api/accounts/transactions',
    {
      config: { access: 'accounts.run' },
      schema: {
        tags,
        summary: 'Transaction-level Isolation Forest scores of an uploaded file, for banks with no labels',
        description:
          "The file in the bank's scoring layout (as for /api/uploads; the label column may be absent). Each transaction is " +
          'scored against the others in the file. Query: contamination, seed, reasons.',
        querystring: QUERY_READ_BY_ROUTE,
      },
    },
    async (req, reply) => {
      const q = parseQuery(TxQuery, req.query, ['contamination', 'seed', 'reasons']);
      if (typeof q === 'string') return bad(reply, 400, 'bad_request', q);
      const up = await spool(req, reply);
      if (!up) return reply;
      try {
        const started = performance.now();
        const tx = await threads.run({
          kind: 'transactions',
          file: up.file,
          options: {
            layout: ctx.layout,
            idColumn: ctx.idColumn,
            contamination: q.contamination,
            seed: q.seed,
            reasons: q.reasons,
          },
        });
        const stored = store.add({
          kind: 'transactions',
          owner: req.operator!.name,
          file: up.name,
          createdAt: ctx.now(),
          layout: tx.layout === 'custom' ? 'column mapping' : tx.layout,
          settings: AccountReportSettings.parse({ contamination: q.contamination, seed: q.seed, reasons: q.reasons }),
          report: tx.report,
          seconds: (performance.now() - started) / 1000,
          lines: tx.lines,
        });
        return created(
          reply,
          stored,
          tx.notices.map((m) => m.split(up.file).join(up.name)),
        );
      } catch (err) {
        return inputError(reply, err, up.file, up.name);
      } finally {
        await rm(up.file, { force: true });
      }
    },
  );

  app.get(
    '/api/accounts/reports',
    { config: { access: 'accounts.read' }, schema: { tags, summary: 'Your reports (newest first; kept in memory)' } },
    async (req) => ({
      reports: store.list(req.operator!.name).map((r) => ({
        id: r.id,
        kind: r.kind,
        file: r.file,
        createdAt: new Date(r.createdAt).toISOString(),
        rows: r.report.rows.length,
        flagged: r.report.flagged,
      })),
    }),
  );

  const notFound = (reply: FastifyReply) =>
    bad(
      reply,
      404,
      'not_found',
      'no such report (reports are kept in memory: a restart of the bank daemon clears them)',
    );

  app.get<{ Params: { id: string } }>(
    '/api/accounts/reports/:id',
    {
      config: { access: 'accounts.read' },
      schema: {
        tags,
        summary:
          'A report at a threshold (contamination or cutoff), rows most anomalous first, with the score histogram',
        querystring: QUERY_READ_BY_ROUTE,
      },
    },
    async (req, reply) => {
      const stored = store.get(req.params.id, req.operator!.name);
      if (!stored) return notFound(reply);
      const q = parseQuery(ViewQuery, req.query, ['contamination', 'cutoff', 'offset', 'limit']);
      if (typeof q === 'string') return bad(reply, 400, 'bad_request', q);
      return reportView(stored, { cut: cutOf(q), offset: q.offset, limit: q.limit, flaggedOnly: q.flagged === '1' });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/accounts/reports/:id/csv',
    {
      config: { access: 'accounts.read' },
      schema: {
        tags,
        summary: 'The report as CSV at a threshold (as `finsecure-bank accounts --out` writes it)',
        querystring: QUERY_READ_BY_ROUTE,
      },
    },
    async (req, reply) => {
      const stored = store.get(req.params.id, req.operator!.name);
      if (!stored) return notFound(reply);
      const q = parseQuery(CutQuery, req.query, ['contamination', 'cutoff']);
      if (typeof q === 'string') return bad(reply, 400, 'bad_request', q);
      const base = stored.file.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'report';
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${base}-${stored.kind}-report.csv"`)
        .send(reportCsv(stored, cutOf(q)));
    },
  );
}
