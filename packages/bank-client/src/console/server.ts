/**
 * The bank console: a Fastify server inside the bank's own daemon, on the bank's own host
 * (127.0.0.1 by default). One plugin per concern: security headers and rate limits, the
 * authorisation hook, people, scoring, alerts and audit, the operating threshold, the
 * OpenAPI docs at /docs, and the React app (packages/console) at /.
 *
 * Rows never leave the bank: the console reads the global model the daemon saved and
 * keeps everything else in its own SQLite file in the bank's state directory.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BANK_ROLES, createAccounts, type Accounts, type AccountsOptions } from '@finsecure/accounts';
import {
  errorAnswer,
  refuseUnknownQuery,
  registerJsonBody,
  registerWebSecurity,
  requestValidators,
  schemaErrors,
  type RouteError,
} from '@finsecure/accounts/http';
import type { ColumnMapping, LayoutName } from '@finsecure/common/data';
import type { ConsoleContext } from './context.js';
import { ConsoleDb } from './db.js';
import { createExplainer, type ExplainMethod, type Explainer } from './reasons.js';
import { ExplainQueue } from './explain-queue.js';
import { Scorer } from './scorer.js';
import type { ValidationSource } from './threshold.js';
import accountsPlugin from './accounts/plugin.js';
import analyticsPlugin from './analytics/plugin.js';
import alerts from './plugins/alerts.js';
import anonymise from './plugins/anonymise.js';
import appFiles from './plugins/app-files.js';
import { installAuth } from './plugins/auth.js';
import people from './plugins/people.js';
import score from './plugins/score.js';
import threshold from './plugins/threshold.js';
import feedback from './plugins/feedback.js';
import { clearSpool } from './upload.js';
import { DEFAULT_MAX_BATCH, DEFAULT_MAX_UPLOAD_BYTES } from './defaults.js';

export { DEFAULT_CONSOLE_HOST, DEFAULT_MAX_BATCH, DEFAULT_MAX_UPLOAD_BYTES } from './defaults.js';

/** Where the console database lives in a state directory. */
export function consoleDbPath(stateDir: string): string {
  return path.join(stateDir, 'console.sqlite');
}

/** The built React app next to this package (packages/console/dist), from src/ or dist/. */
export function defaultAppDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../console/dist');
}

export interface ConsoleOptions {
  /** The bank's state directory: the daemon's model/ is read, console.sqlite written. */
  stateDir: string;
  /** Default `<stateDir>/console.sqlite`. */
  dbFile?: string;
  /** Default `<stateDir>/model`. */
  modelDir?: string;
  layout?: 'auto' | LayoutName | ColumnMapping;
  /** The uploads' transaction id column, when not one of the usual names. */
  idColumn?: string;
  /** Built app directory; null serves a "not built" page. Default: packages/console/dist. */
  appDir?: string | null;
  maxUploadBytes?: number;
  maxBatch?: number;
  backend?: string;
  validation?: ValidationSource | null;
  explainer?: Explainer;
  /** How reasons are computed (default integrated gradients). */
  explainMethod?: ExplainMethod;
  logger?: Logger | false;
  /** People settings tests and deployments may change. */
  people?: Pick<AccountsOptions, 'requireMfaForAdmins' | 'session' | 'lockout'> & { loginRateLimit?: number };
  now?: () => number;
  /** Resolution of a session's stored last-seen time (session-store.ts; 0: written on every request). */
  sessionTouchMs?: number;
  /**
   * Serve HTTPS with this certificate and key (PEM): the cookies are then `__Host-` and
   * `Secure`, and HSTS is on. Absent: plain HTTP, for the default 127.0.0.1 or behind a proxy.
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

export interface BankConsole {
  app: FastifyInstance;
  db: ConsoleDb;
  accounts: Accounts;
  /** Background reasons of upload alerts (tests wait on `idle()`). */
  explainQueue: ExplainQueue;
  close(): Promise<void>;
}

/** The account core bound to a console database (also used by `finsecure-bank users`). */
export function consoleAccounts(db: ConsoleDb, opts: Pick<ConsoleOptions, 'people' | 'now'> = {}): Accounts {
  const p = opts.people ?? {};
  return createAccounts({
    store: db.accounts,
    audit: async (e) => db.appendAudit(e),
    now: opts.now ?? (() => Date.now()),
    roles: BANK_ROLES,
    issuer: 'FinSecure bank console',
    ...(p.requireMfaForAdmins !== undefined ? { requireMfaForAdmins: p.requireMfaForAdmins } : {}),
    ...(p.session ? { session: p.session } : {}),
    ...(p.lockout ? { lockout: p.lockout } : {}),
  });
}

/** Where uploads are spooled while they are read (upload.ts), in a state directory. */
export function consoleSpoolDir(stateDir: string): string {
  return path.join(stateDir, 'console-spool');
}

/** Builds the console (not listening yet); empties the upload spool first (upload.ts clearSpool). */
export async function buildConsole(o: ConsoleOptions): Promise<BankConsole> {
  const spoolDir = consoleSpoolDir(o.stateDir);
  const leftovers = await clearSpool(spoolDir);
  const db = new ConsoleDb(o.dbFile ?? consoleDbPath(o.stateDir), undefined, o.sessionTouchMs);
  const accounts = consoleAccounts(db, o);
  const scorer = new Scorer(o.modelDir ?? path.join(o.stateDir, 'model'), o.backend);
  const validation = o.validation ?? null;
  // Requests in flight: the background explanations wait while there are any.
  const inFlight = new Set<string>();
  const explainQueue = new ExplainQueue(
    db,
    (err) => app.log.error({ err }, 'explaining alerts failed'),
    () => inFlight.size > 0,
  );
  const ctx: ConsoleContext = {
    db,
    accounts,
    scorer,
    layout: o.layout ?? 'auto',
    idColumn: o.idColumn,
    maxUploadBytes: o.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    maxBatch: o.maxBatch ?? DEFAULT_MAX_BATCH,
    spoolDir,
    validation,
    explainer: o.explainer ?? createExplainer({ validation, ...(o.explainMethod ? { method: o.explainMethod } : {}) }),
    explainQueue,
    now: o.now ?? (() => Date.now()),
    secure: o.tls !== undefined,
  };
  const app = Fastify({
    ...(o.logger ? { loggerInstance: o.logger } : { logger: false }),
    // Fastify's two synchronous log lines per request would sit on the scoring path: one
    // line per request below instead, at debug unless it failed (see the onResponse hook).
    logController: new LogController({ disableRequestLogging: true }),
    // A JSON batch of maxBatch transactions of ~30 fields fits well within this.
    bodyLimit: Math.max(1 << 20, ctx.maxBatch * 4096),
    schemaErrorFormatter: schemaErrors,
    ...(o.tls ? { https: { cert: o.tls.cert, key: o.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  // Unknown fields refused, not dropped; a JSON body of the wrong type refused, not coerced.
  app.setValidatorCompiler(requestValidators());
  // An /api/ route refuses query parameters it does not declare (validators.ts).
  app.addHook('onRoute', refuseUnknownQuery);
  // A refused JSON body says why: where its syntax breaks, or its __proto__ key (json-body.ts).
  registerJsonBody(app);
  app.setErrorHandler((err: RouteError, req, reply) => {
    // The console's own codes stand; the framework's (FST_ERR_…) are internal names, not answers.
    const { status, body } = errorAnswer(err, 'the bank console log', { ownCodes: true });
    if (status === 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
  });

  if (leftovers > 0)
    app.log.warn(
      { dir: spoolDir, removed: leftovers },
      `removed ${leftovers} upload file(s) a previous run left in the spool (it stopped during an upload)`,
    );
  else app.log.debug({ dir: spoolDir, removed: 0 }, 'upload spool empty');
  app.addHook('onRequest', async (req, reply) => {
    inFlight.add(req.id);
    // A client that leaves after its whole request, before the answer, fires neither onResponse
    // nor onRequestAbort: without this the entry stayed, and the reasons queue waited on it for ever.
    reply.raw.once('close', () => inFlight.delete(req.id));
  });
  app.addHook('onResponse', async (req, reply) => {
    inFlight.delete(req.id);
    const status = reply.statusCode;
    const level = status >= 400 ? 'info' : 'debug';
    // The route pattern, not the URL: query strings may hold filters (amounts, ids). A
    // disabled level is a no-op in pino, so this costs nothing at the default (info).
    req.log[level](
      { method: req.method, route: req.routeOptions.url ?? '(no route)', status, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  app.addHook('onRequestAbort', async (req) => void inFlight.delete(req.id));
  await registerWebSecurity(app, { secure: ctx.secure });
  installAuth(app, { accounts, secure: ctx.secure });
  await app.register(fastifyMultipart, { limits: { fileSize: ctx.maxUploadBytes, files: 1, fields: 4, parts: 5 } });
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'FinSecure bank console API',
        version: '0.1.0',
        description:
          "The bank's own console: scoring, alerts, analyst decisions, the operating threshold. Sign in with POST /api/auth/login.",
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(people, {
    ...ctx,
    ...(o.people?.loginRateLimit ? { loginRateLimit: o.people.loginRateLimit } : {}),
  });
  await app.register(score, ctx);
  await app.register(alerts, ctx);
  await app.register(threshold, ctx);
  await app.register(feedback, { ...ctx, stateDir: o.stateDir });
  await app.register(accountsPlugin, ctx);
  await app.register(analyticsPlugin, { ...ctx, stateDir: o.stateDir });
  await app.register(anonymise, { ...ctx, stateDir: o.stateDir });
  app.get(
    '/api/health',
    { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness' } },
    async () => ({ ok: true }),
  );
  await app.register(appFiles, { dir: o.appDir === undefined ? defaultAppDir() : o.appDir });

  return {
    app,
    db,
    accounts,
    explainQueue,
    async close() {
      explainQueue.stop();
      await app.close();
      scorer.dispose();
      db.close();
    },
  };
}
