/**
 * The aggregator side of the protocol benchmarks (round-overhead, scale): a quiet real
 * aggregator in this process on loopback with SQLite in a temporary directory, banks
 * registered through the admin API, and the light bank clients (light-bank.ts) in a
 * child process. `withLightFederation` sets all of it up and always tears it down.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import {
  DEFAULT_RULES,
  loadConfig,
  startAggregator,
  type FederationObserver,
  type RunningAggregator,
} from '@finsecure/aggregator';
import { LightBanks } from './light-banks.js';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export interface BenchAggregatorOptions {
  banks: number;
  rounds: number;
  dataDir: string;
  /** Told of each round's end, synchronously (see StartOptions.observer). */
  observer?: FederationObserver;
}

/** A quiet aggregator for benchmarks: loopback, port 0, SQLite in dataDir, started through the API later. */
export async function startBenchAggregator(o: BenchAggregatorOptions): Promise<RunningAggregator> {
  const config = loadConfig({
    flags: {
      host: '127.0.0.1',
      port: 0,
      dataDir: o.dataDir,
      adminToken: BENCH_ADMIN_TOKEN,
      autoStart: false,
      backend: 'cpu',
      logLevel: 'silent',
      heartbeatIntervalMs: 5_000,
      heartbeatTimeoutMs: 120_000,
      helloTimeoutMs: 60_000,
      unknownPeerHelloTimeoutMs: 60_000,
      // Every light bank connects from 127.0.0.1 (up to 1,000 of them, 100 at a time).
      maxUnauthenticatedPerAddress: 256,
      maxConnectionsPerAddress: 1_000_000,
      rules: {
        ...DEFAULT_RULES,
        rounds: o.rounds,
        minBanks: o.banks,
        quorum: o.banks,
        roundTimeoutMs: 120_000,
        graceMs: 0,
        evaluationTimeoutMs: 120_000,
        roundIntervalMs: 0,
      },
    },
  });
  return startAggregator(config, {
    logger: pino({ level: 'silent' }),
    ...(o.observer ? { observer: o.observer } : {}),
  });
}

export async function registerBanks(
  agg: RunningAggregator,
  n: number,
  prefix = 'bank',
): Promise<{ id: string; token: string }[]> {
  const out: { id: string; token: string }[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `${prefix}-${i}`;
    const res = await fetch(`${agg.url}/api/banks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agg.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id }),
    });
    if (res.status !== 201) throw new Error(`POST /api/banks ${id}: ${res.status} ${await res.text()}`);
    out.push({ id, token: ((await res.json()) as { token: string }).token });
  }
  return out;
}

/** How `trainToEnd` sends its admin request: from this process (fetch) or another (LightBanks.post). */
export type AdminPost = (
  url: string,
  headers: Record<string, string>,
  body?: string,
) => Promise<{ status: number; body: string }>;

const postHere: AdminPost = async (url, headers, body) => {
  const res = await fetch(url, { method: 'POST', headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, body: await res.text() };
};

export interface TrainOptions {
  /** Called at every poll (memory sampling, progress logs). */
  onTick?: () => void;
  /** For a finished federation: run this many more rounds. */
  additionalRounds?: number;
  /**
   * How the admin's request goes out (default: fetch from this process). Pass `light.post` so that
   * its HTTP client does not run in the aggregator's process, whose CPU a benchmark may measure.
   */
  post?: AdminPost;
  /** Poll interval, ms (default 25). */
  pollMs?: number;
  /**
   * Resolves when training is over (for example from an observer of the rounds' ends), or rejects
   * to stop the wait with that error: the federation's status is then not polled, so the wait
   * costs the aggregator's process only a timer per poll interval for onTick, and none without it.
   */
  until?: Promise<unknown>;
}

/**
 * Starts training (POST /api/training/start) and waits, polling the federation in-process (not
 * over HTTP) or until `until` resolves, for it to finish; throws after `timeoutMs`.
 */
export async function trainToEnd(
  agg: RunningAggregator,
  timeoutMs: number,
  { onTick, additionalRounds, post = postHere, pollMs = 25, until }: TrainOptions = {},
): Promise<void> {
  const res = await post(
    `${agg.url}/api/training/start`,
    {
      authorization: `Bearer ${agg.adminToken}`,
      ...(additionalRounds ? { 'content-type': 'application/json' } : {}),
    },
    additionalRounds ? JSON.stringify({ additionalRounds }) : undefined,
  );
  if (res.status < 200 || res.status > 299) throw new Error(`POST /api/training/start: ${res.status} ${res.body}`);
  if (until && !onTick) {
    // Nothing to do meanwhile: one timer for the deadline, no wake-ups in the measured process.
    let deadline: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      deadline = setTimeout(
        () =>
          reject(
            new Error(
              `training did not finish within ${timeoutMs / 1000} s (status ${JSON.stringify(agg.federation.status())})`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([until, late]);
    } finally {
      clearTimeout(deadline);
    }
    return;
  }
  const end = Date.now() + timeoutMs;
  let over = false;
  // Settled either way: a rejection (a failed round, say) is thrown by the race below.
  void until?.then(
    () => (over = true),
    () => (over = true),
  );
  while (until ? !over : agg.federation.status().state !== 'finished') {
    if (Date.now() > end)
      throw new Error(
        `training did not finish within ${timeoutMs / 1000} s (status ${JSON.stringify(agg.federation.status())})`,
      );
    onTick?.();
    const tick = new Promise((r) => setTimeout(r, pollMs));
    await (until ? Promise.race([until, tick]) : tick);
  }
}

/**
 * Runs `fn` against a bench aggregator whose SQLite database lives in a new temporary
 * directory under `parent`, with a light-bank child process ready to be started; stops
 * the clients, closes the aggregator and removes the directory however `fn` ends.
 */
export async function withLightFederation<T>(
  parent: string,
  o: { banks: number; rounds: number; observer?: FederationObserver },
  fn: (agg: RunningAggregator, light: LightBanks) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(path.join(parent, 'finsecure-bench-'));
  const agg = await startBenchAggregator({ ...o, dataDir: dir });
  const light = LightBanks.spawn();
  try {
    return await fn(agg, light);
  } finally {
    await light.stop();
    await agg.close();
    await rm(dir, { recursive: true, force: true });
  }
}
