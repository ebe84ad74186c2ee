/**
 * Assembles a running aggregator from a validated config: store, TF.js backend,
 * strategy, federation and HTTP server. Used by the CLI, `npm start`, the simulation
 * harness and the tests, so they all run the same code path.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { initBackend, parseBackendPreference, type MlpSpec } from '@finsecure/common/model';
import { createStrategy } from '@finsecure/common/strategy';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiAuth, generateToken } from './auth/tokens.js';
import type { AggregatorConfig } from './config/schema.js';
import { EventBus } from './events/bus.js';
import { systemClock, type Clock } from './federation/clock.js';
import type { FederationObserver } from './federation/core.js';
import { ControlRefused, Federation, SERVER_VERSION } from './federation/federation.js';
import { checkFrameLimit } from './federation/frame-limit.js';
import { AUDIT_KEY_FILE, recordShutdown, verifyStoredState } from './audit/index.js';
import { diskFull } from './store/sqlite-integrity.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics/prometheus.js';
import { buildServer, type PeopleSettings } from './server/app.js';
import { plainListenWarning } from '@finsecure/common/config';
import { strategySpec } from './round/rules.js';
import { createStore } from './store/index.js';
import type { Store } from './store/types.js';

export interface RunningAggregator {
  app: FastifyInstance;
  federation: Federation;
  store: Store;
  url: string;
  wsUrl: string;
  /** The admin token in force; generated when none was configured (shown once by the CLI). */
  adminToken: string;
  adminTokenGenerated: boolean;
  /** Live events (rounds, status with stage progress, banks, audit), as /ws/events streams them. */
  events: EventBus;
  close(): Promise<void>;
}

/** Where the built dashboard is, when it was built in this repository. */
export function defaultDashboardDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.resolve(here, '../../dashboard/dist');
  return existsSync(dir) ? dir : undefined;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  /**
   * Told of every finished round, refused update, byte moved and aggregation, synchronously, on
   * the federation's queue (after the Prometheus metrics are): for an embedding program or a
   * benchmark that must mark a round's end exactly, without subscribing to the live events
   * (which makes every round build its dashboard views). Must not block; what it throws is logged
   * and ignored.
   */
  observer?: FederationObserver;
  /** The people module's settings beyond the config's (server/app.ts), e.g. its clock in a test of session expiry. */
  people?: PeopleSettings;
}

export async function startAggregator(config: AggregatorConfig, opts: StartOptions = {}): Promise<RunningAggregator> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  // Before anything starts: a model whose frames exceed the limit could never train.
  checkFrameLimit(config.model, config.training, config.maxFrameBytes);
  const backend = await initBackend(parseBackendPreference(config.backend));
  logger.info({ backend: backend.backend, notes: backend.notes }, 'TF.js backend ready');
  const store = await createStore({
    ...(config.mongodbUri ? { mongodbUri: config.mongodbUri } : {}),
    sqlitePath: config.sqlitePath ?? path.join(config.dataDir, 'finsecure.db'),
    dbName: config.mongodbDb,
    // SQLite keeps the audit key beside its database by default; MongoDB needs a path on disk.
    auditKeyFile: config.auditKeyFile ?? (config.mongodbUri ? path.join(config.dataDir, AUDIT_KEY_FILE) : undefined),
    // One aggregator per SQLite store: a second one on the same data directory is refused.
    log: (message) => logger.warn(message),
  });
  await store.init();
  // A start that fails once the store is open closes what it opened: the store releases its
  // instance lock, so the same process (an embedding program, a test) can start again.
  const opened: { federation?: Federation; app?: FastifyInstance; metrics?: { close(): void } } = {};
  try {
    // Refuses to start (naming file, table and row) on damaged storage; seals committed rounds a
    // crash left without their audit entry; records this start.
    const clock = opts.clock ?? systemClock;
    const startup = await verifyStoredState(store, { version: SERVER_VERSION, now: () => clock.now() }).catch(
      (err: unknown) => {
        // The start's own writes (its audit entry, the checkpoint) on a full disk: SQLite says only
        // "database or disk is full"; name the place and the step.
        const code = (err as { code?: string }).code ?? '';
        if (code !== 'SQLITE_FULL' && !code.startsWith('SQLITE_IOERR')) throw err;
        const full = diskFull(config.dataDir);
        throw new Error(
          `cannot record this start in the store in ${config.dataDir} (${code}: ${(err as Error).message})` +
            (full ? `: ${full}` : ''),
          { cause: err },
        );
      },
    );
    logger.info({ store: store.kind, checkMs: startup.ms, repaired: startup.repaired }, 'store ready');
    const adminTokenGenerated = !config.adminToken;
    const adminToken = config.adminToken ?? generateToken('fsa');
    const events = new EventBus();
    const metrics = createMetrics();
    opened.metrics = metrics;
    const spec: MlpSpec = config.model;
    const federation = new Federation({
      store,
      makeStrategy: (settings) => {
        const { name, options } = strategySpec(settings.rules);
        return createStrategy(name, options);
      },
      spec,
      clock,
      logger: logger.child({ component: 'federation' }),
      events,
      seed: config.seed,
      settings: { training: config.training, rules: config.rules },
      maxFrameBytes: config.maxFrameBytes,
      ...(config.maxQueuedBytesPerBank !== undefined ? { maxQueuedBytesPerBank: config.maxQueuedBytesPerBank } : {}),
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      observer: opts.observer ? bothObservers(metrics.observer, opts.observer, logger) : metrics.observer,
    });
    opened.federation = federation;
    await federation.init();
    // A finished federation starts again when more rounds are configured than it has run.
    if (config.autoStart && federation.status().state !== 'running') {
      await federation.control('start', 'system').catch((err: Error) => {
        // Every configured round is committed: nothing to start; the API says so too.
        if (err instanceof ControlRefused) logger.info({ reason: err.message }, 'training not started');
        // The store refused the start (ChangeNotStored): the aggregator serves, an admin can start it.
        else logger.error({ err }, 'training could not be started');
      });
    }
    const app = await buildServer({
      config: { ...config, dashboardDir: config.dashboardDir ?? defaultDashboardDir() },
      federation,
      store,
      auth: new ApiAuth(adminToken, config.viewerToken),
      events,
      backend,
      spec,
      logger,
      version: SERVER_VERSION,
      startedAt: Date.now(),
      clock,
      metrics,
      ...(opts.people ? { people: opts.people } : {}),
    });
    opened.app = app;
    await app.listen({ host: config.host, port: config.port });
    const plain = plainListenWarning('the aggregator', config.host, !!config.tlsCert, '--tls-cert and --tls-key');
    if (plain) logger.warn(plain);
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const scheme = config.tlsCert ? 'https' : 'http';
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `${scheme}://${host}:${port}`;
    let closed = false;
    return {
      app,
      federation,
      store,
      url,
      wsUrl: `${scheme === 'https' ? 'wss' : 'ws'}://${host}:${port}`,
      adminToken,
      adminTokenGenerated,
      events,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await federation.close();
          await app.close();
          await recordShutdown(store, { version: SERVER_VERSION, now: () => clock.now() });
          await store.close();
        } finally {
          metrics.close();
        }
      },
    };
  } catch (err) {
    await opened.app?.close().catch(() => {});
    await opened.federation?.close().catch(() => {});
    opened.metrics?.close();
    await store.close().catch(() => {});
    throw err;
  }
}

/**
 * Tells `metrics`, then `embedder`. The embedder's observer runs inside the round's own steps: an
 * error it throws is logged and goes no further, so it cannot cut a round's ending short.
 */
function bothObservers(metrics: FederationObserver, embedder: FederationObserver, logger: Logger): FederationObserver {
  const guard =
    <A extends unknown[]>(name: string, f: ((...args: A) => void) | undefined) =>
    (...args: A) => {
      try {
        f?.(...args);
      } catch (err) {
        logger.error({ err, observer: name }, 'the observer given to startAggregator threw; ignored');
      }
    };
  const roundFinished = guard('roundFinished', embedder.roundFinished?.bind(embedder));
  const updateRejected = guard('updateRejected', embedder.updateRejected?.bind(embedder));
  const bytes = guard('bytes', embedder.bytes?.bind(embedder));
  const aggregationMs = guard('aggregationMs', embedder.aggregationMs?.bind(embedder));
  return {
    roundFinished: (round) => {
      metrics.roundFinished?.(round);
      roundFinished(round);
    },
    updateRejected: (reason) => {
      metrics.updateRejected?.(reason);
      updateRejected(reason);
    },
    bytes: (direction, n) => {
      metrics.bytes?.(direction, n);
      bytes(direction, n);
    },
    aggregationMs: (ms) => {
      metrics.aggregationMs?.(ms);
      aggregationMs(ms);
    },
  };
}
