/**
 * The Anonymise page's API: a safe copy of a transaction file, made in the bank by the same
 * core as `finsecure-bank anonymise` (../../anonymise/run.ts), for sharing with analysts.
 *
 *   POST /api/anonymise?amount&epsilon&clip&bands&time&minK&unclassified&mapping  (multipart "file")
 *   GET  /api/anonymise             earlier runs (id, time, who, file, rows, k, ε), newest first
 *   GET  /api/anonymise/:id/file    the safe copy (CSV)
 *
 * The upload is spooled (0600, deleted right after); only the safe output is kept, in
 * `<state>/anonymised/<id>.csv` with its report beside it (`<id>.json`): plain files, as
 * they are what is meant to leave the bank. The pseudonym key is the bank's own, sealed in
 * the state directory (segmentPseudonymKey), so customer pseudonyms here are the ones the
 * Segments page shows. A refusal (min k not met, unclassified columns, bad file) writes
 * nothing. Every run and every refusal is in the console's audit log.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MinKError, type AnonymiseReport } from '@finsecure/common/anonymise';
import { DataError, redactPaths } from '@finsecure/common/data';
import { segmentPseudonymKey } from '../../analytics/state.js';
import {
  anonymiseFailureKind,
  AnonymiseSettings,
  runAnonymise,
  UnclassifiedColumnsError,
} from '../../anonymise/run.js';
import type { ConsoleContext } from '../context.js';
import { bad, spoolUpload } from '../upload.js';
import { StateKeyError } from '../../state-crypto/key.js';

/** What is kept about a run beside its safe copy (`<id>.json`), and listed. */
export interface AnonymiseRunRecord {
  id: string;
  at: number;
  by: string;
  /** The uploaded file's name (the input itself is never kept). */
  file: string;
  rows: number;
  kAnonymity: number;
  epsilonPerTransaction: number;
  settings: AnonymiseSettings;
  report: AnonymiseReport;
}

const ID = /^[0-9a-f]{16}$/;
const QUERY_KEYS = [
  'amount',
  'epsilon',
  'clip',
  'bands',
  'time',
  'minK',
  'knownTransactions',
  'unclassified',
  'mapping',
] as const;

/**
 * Query text → validated settings (AnonymiseSettings, as the CLI), or the problem in words.
 * `bands` is "0,10,50"; `mapping` is the CLI's mapping file as JSON. Unclassified columns
 * are refused unless `unclassified=drop`: the person sees them before anything is released.
 */
export function parseAnonymiseQuery(query: Record<string, unknown>): AnonymiseSettings | string {
  const unknown = Object.keys(query).filter((k) => !(QUERY_KEYS as readonly string[]).includes(k));
  if (unknown.length) return `unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`;
  const raw: Record<string, unknown> = { unclassified: 'refuse' };
  for (const [k, v] of Object.entries(query)) {
    if (typeof v !== 'string') return `${k} must be given once`;
    if (v.trim() === '') continue;
    if (k === 'epsilon' || k === 'clip' || k === 'minK' || k === 'knownTransactions') {
      const n = Number(v);
      if (!Number.isFinite(n)) return `${k} must be a number, got "${v}"`;
      raw[k] = n;
    } else if (k === 'bands') raw[k] = v.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
    else if (k === 'mapping') {
      try {
        raw[k] = JSON.parse(v) as unknown;
      } catch {
        return 'mapping must be JSON: {"columns": {"<header>": "<role>"}}';
      }
    } else raw[k] = v;
  }
  const r = AnonymiseSettings.safeParse(raw);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; ');
  return r.data;
}

export default async function anonymise(app: FastifyInstance, ctx: ConsoleContext & { stateDir: string }) {
  const dir = path.join(ctx.stateDir, 'anonymised');
  const tags = ['anonymise'];

  /** Streams the multipart file to a spool file (upload.ts); answers the error itself and returns null. */
  const spool = (req: FastifyRequest, reply: FastifyReply) =>
    spoolUpload(req, reply, {
      spoolDir: ctx.spoolDir,
      maxUploadBytes: ctx.maxUploadBytes,
      prefix: 'anonymise',
      what: 'the CSV',
    });

  app.post(
    '/api/anonymise',
    {
      config: { access: 'anonymise' },
      schema: {
        tags,
        summary: 'Upload a transaction CSV (multipart "file") and keep a safe copy of it for sharing, with its report',
        description:
          'As `finsecure-bank anonymise`: names, e-mails, phones and free text dropped; customer, account and transaction ids ' +
          "replaced by keyed pseudonyms (HMAC-SHA-256 with the bank's sealed key, the Segments page's); account and card numbers " +
          'masked to the last four; amounts Laplace-noised (ε per transaction, after clipping) or banded; timestamps to the hour or day. ' +
          'Query: amount (laplace|band), epsilon, clip, bands ("0,10,50"), time (hour|day), minK, unclassified (refuse|drop, ' +
          'default refuse), mapping (JSON {"columns": {"<header>": "<role>"}}). 201 with the report; 422 when min k is not met ' +
          '(error "min_k", with the report) or a column has no role (error "unclassified", with the columns); 400 for a bad file ' +
          '(file, line, column) or setting; 413 over the upload limit; 500 "daemon_files" when a file the daemon needs (its key, ' +
          'the output directory) is missing or unreadable (the path is in the daemon log, not the answer). Nothing is written unless 201.',
        querystring: {
          type: 'object',
          properties: {
            amount: { type: 'string', enum: ['laplace', 'band'] },
            epsilon: { type: 'string', description: 'ε per transaction (Laplace), > 0; default 1' },
            clip: { type: 'string', description: 'clipping bound of amounts (Laplace sensitivity); default 1000' },
            bands: { type: 'string', description: 'increasing band edges, comma-separated' },
            time: { type: 'string', enum: ['hour', 'day'] },
            minK: { type: 'string', description: 'refuse below this k-anonymity' },
            knownTransactions: {
              type: 'string',
              description:
                "m: count k as k^m-anonymity, against someone who knows m of a person's transactions (rows linked by a pseudonym)",
            },
            unclassified: { type: 'string', enum: ['refuse', 'drop'] },
            mapping: { type: 'string', description: 'column roles, JSON' },
          },
        },
      },
    },
    async (req, reply) => {
      const actor = req.operator!.name;
      // Every refusal is audited, by its kind and where in the file: never with the file's content
      // (a refused cell may be the very data the copy was to hide).
      const refused = (why: string, details: Record<string, unknown> = {}) =>
        ctx.db.appendAudit({ at: ctx.now(), type: 'anonymise.refused', actor, details: { why, ...details } });
      const settings = parseAnonymiseQuery(req.query as Record<string, unknown>);
      if (typeof settings === 'string') {
        refused('settings');
        return bad(reply, 400, 'bad_request', settings);
      }
      const up = await spool(req, reply);
      if (!up) {
        refused('upload', { status: reply.statusCode });
        return reply;
      }
      const id = randomBytes(8).toString('hex');
      const named = (m: string) => m.split(up.file).join(up.name);
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const report = await runAnonymise({
          input: up.file,
          output: path.join(dir, `${id}.csv`),
          key: segmentPseudonymKey(ctx.stateDir),
          settings,
          name: up.name,
        });
        const record: AnonymiseRunRecord = {
          id,
          at: ctx.now(),
          by: actor,
          file: up.name,
          rows: report.rows,
          kAnonymity: report.kAnonymity,
          epsilonPerTransaction: report.privacy.epsilonPerTransaction,
          settings,
          report,
        };
        // Renamed into place, so the list never reads a half-written record.
        const tmp = path.join(dir, `.${id}.json.tmp`);
        await writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
        await rename(tmp, path.join(dir, `${id}.json`));
        ctx.db.appendAudit({
          at: record.at,
          type: 'anonymise.run',
          actor,
          details: {
            id,
            file: up.name,
            rows: report.rows,
            epsilonPerTransaction: record.epsilonPerTransaction,
            kAnonymity: report.kAnonymity,
            minK: settings.minK ?? null,
          },
        });
        return reply.code(201).send({ ...summary(record), report });
      } catch (err) {
        const kind = anonymiseFailureKind(err);
        if (kind === 'crash') throw err;
        if (err instanceof MinKError) {
          refused('min_k', {
            file: up.name,
            rows: err.report.rows,
            kAnonymity: err.report.kAnonymity,
            minK: settings.minK,
          });
          return bad(reply, 422, 'min_k', err.message, { report: err.report });
        }
        if (err instanceof UnclassifiedColumnsError) {
          refused('unclassified', { file: up.name, columns: err.columns });
          return bad(reply, 422, 'unclassified', named(err.message), { columns: err.columns, header: err.header });
        }
        if (err instanceof DataError) {
          refused('bad_file', { file: up.name, line: err.line ?? null, column: err.column ?? null });
          return bad(reply, 400, 'bad_file', named(err.message), {
            file: up.name,
            line: err.line ?? null,
            column: err.column ?? null,
          });
        }
        // A file the daemon needs (the key, the output directory): the analyst cannot fix it and
        // must not learn the bank host's paths; the operator finds the path in the log.
        if (typeof (err as NodeJS.ErrnoException).code === 'string' || err instanceof StateKeyError) {
          req.log.warn({ err }, 'anonymise: a file the daemon needs is missing or unreadable');
          const message =
            'a file the bank daemon needs (its anonymisation key or output directory) is missing or unreadable: the daemon log names it';
          refused('daemon_files', { file: up.name });
          return bad(reply, 500, 'daemon_files', message);
        }
        refused('bad_request', { file: up.name });
        return bad(reply, 400, 'bad_request', withoutPaths(named((err as Error).message)));
      } finally {
        await rm(up.file, { force: true });
      }
    },
  );

  app.get(
    '/api/anonymise',
    {
      config: { access: 'anonymise' },
      schema: { tags, summary: 'Earlier runs, newest first: id, time, who, file name, rows, k, ε per transaction' },
    },
    async () => {
      let names: string[] = [];
      try {
        names = (await readdir(dir)).filter((n) => ID.test(n.replace(/\.json$/, '')) && n.endsWith('.json'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const runs = await Promise.all(
        names.map(async (n) => summary(JSON.parse(await readFile(path.join(dir, n), 'utf8')) as AnonymiseRunRecord)),
      );
      runs.sort((a, b) => b.at - a.at || a.id.localeCompare(b.id));
      return { runs };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/anonymise/:id/file',
    {
      config: { access: 'anonymise' },
      schema: { tags, summary: 'Download the safe copy of a run (CSV)' },
    },
    async (req, reply) => {
      const { id } = req.params;
      const file = path.join(dir, `${id}.csv`);
      if (!ID.test(id) || !(await stat(file).catch(() => null)))
        return bad(reply, 404, 'not_found', `no anonymised file ${id}`);
      const record = await readFile(path.join(dir, `${id}.json`), 'utf8')
        .then((t) => JSON.parse(t) as AnonymiseRunRecord)
        .catch(() => null);
      const base =
        (record?.file ?? 'transactions').replace(/\.(csv|gz|csv\.gz)$/i, '').replace(/[^\w.-]/g, '_') || 'transactions';
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${base}-anonymised.csv"`)
        .send(createReadStream(file));
    },
  );
}

function summary(r: AnonymiseRunRecord) {
  return {
    id: r.id,
    at: r.at,
    by: r.by,
    file: r.file,
    rows: r.rows,
    kAnonymity: r.kAnonymity,
    minK: r.settings.minK ?? null,
    epsilonPerTransaction: r.epsilonPerTransaction,
    amount: r.settings.amount,
    time: r.settings.time,
    download: `/api/anonymise/${r.id}/file`,
  };
}

/** `message` with every absolute path in it (the bank host's files) replaced by its file name. */
export function withoutPaths(message: string): string {
  return redactPaths(message, (name) => name);
}
