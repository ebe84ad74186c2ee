/**
 * Test harness: a real aggregator (in-process, real HTTP and WebSocket on 127.0.0.1,
 * real SQLite file) and real bank clients (in-process BankClient, or child processes
 * of the built CLI), on tiny synthetic shards written to a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { RoundRecord } from '@finsecure/common/api';
import { generateSynthetic, writeCsv } from '@finsecure/common/data';
import { BankClient, loadBankConfig, loadLocalData, openBankState } from '@finsecure/bank-client';
import { createEnvelopeCipher, loadStateModel, readStateFile } from '../../../bank-client/src/state-crypto/index.js';
import { loadConfig, startAggregator, type AggregatorConfigInput, type RunningAggregator } from '../../src/index.js';

export const ADMIN = 'test-admin-token-0123456789';
/** The state key of every test bank (the key is required; tests of a wrong key use another). */
export const TEST_STATE_KEY = Buffer.alloc(32, 0x5a);
/** TEST_STATE_KEY as the environment gives it to a spawned `finsecure-bank start`. */
export const TEST_STATE_KEY_ENV = { FINSECURE_STATE_KEY: TEST_STATE_KEY.toString('base64') };
export const VIEWER = 'test-viewer-token-0123456789';

export function tempDir(prefix = 'finsecure-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export const quiet = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function aggregatorConfig(dataDir: string, over: Partial<AggregatorConfigInput> = {}) {
  return loadConfig({
    flags: {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: ADMIN,
      viewerToken: VIEWER,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 3_000,
      backend: 'wasm',
      logLevel: 'silent',
      ...over,
      rules: {
        rounds: 2,
        fraction: 1,
        minBanks: 2,
        quorum: 2,
        roundTimeoutMs: 20_000,
        graceMs: 0,
        evaluationTimeoutMs: 10_000,
        latePolicy: 'reject',
        roundIntervalMs: 50,
        threshold: 0.5,
        histogramBins: 100,
        maxShare: 1,
        maxUpdateNorm: 1000,
        privacyBudgetAction: 'exclude-bank',
        ...(over.rules ?? {}),
      },
      training: {
        epochs: 1,
        batchSize: 64,
        learningRate: 0.003,
        smoteRatio: 0.2,
        smoteK: 3,
        updateEncoding: 'float32',
        ...(over.training ?? {}),
      },
    },
  });
}

export async function startTestAggregator(
  dataDir: string,
  over: Partial<AggregatorConfigInput> = {},
): Promise<RunningAggregator> {
  return startAggregator(aggregatorConfig(dataDir, over), { logger: quiet });
}

export async function api<T = unknown>(
  agg: { url: string },
  method: string,
  url: string,
  body?: unknown,
  token = ADMIN,
): Promise<{ status: number; body: T }> {
  const res = await fetch(agg.url + url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/**
 * A request whose body is sent as given (not JSON-encoded: tests of malformed bodies), as the
 * admin; the answer's `error` and `message` (the text itself when the answer is not JSON).
 */
export async function rawApi(
  agg: { url: string },
  method: string,
  url: string,
  body?: string,
): Promise<{ status: number; error?: string; message: string }> {
  const res = await fetch(agg.url + url, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  try {
    const answer = JSON.parse(text) as { error?: string; message?: unknown };
    return { status: res.status, ...(answer.error ? { error: answer.error } : {}), message: String(answer.message) };
  } catch {
    return { status: res.status, message: text };
  }
}

export async function createBank(agg: { url: string }, id: string): Promise<string> {
  const r = await api<{ token: string }>(agg, 'POST', '/api/banks', { id, name: `Bank ${id}` });
  if (r.status !== 201) throw new Error(`could not create bank ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** Writes `n` small synthetic shards (different seeds) and returns their paths. */
export async function writeShards(dir: string, n: number, rows = 600, fraudRate = 0.08): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `shard-${i + 1}.csv`);
    await writeCsv(generateSynthetic({ rows, fraudRate, seed: 100 + i }), file);
    files.push(file);
  }
  return files;
}

export async function startBank(
  agg: RunningAggregator,
  id: string,
  token: string,
  data: string,
  stateDir: string,
  over: Record<string, unknown> = {},
): Promise<BankClient> {
  const config = loadBankConfig({
    flags: {
      server: `${agg.wsUrl}/ws/bank`,
      bankId: id,
      token,
      data,
      testFraction: 0.3,
      stateDir,
      backend: 'wasm',
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      logLevel: 'silent',
      ...over,
    },
  });
  // The state key is required: one fixed test key, so a restarted bank reopens its state.
  openBankState(stateDir, { key: TEST_STATE_KEY, source: 'test state key' });
  const data_ = await loadLocalData(config);
  const client = new BankClient(config, data_, quiet);
  await client.start();
  return client;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Resolves once the aggregator has taken `bankId`'s update of round `roundId` into the round (its
 * `update.accepted` audit entry): an accepted update is not acknowledged on the wire, only a
 * refused one is. On timeout the error names the refusals of that update, if any.
 */
export async function updateAccepted(agg: RunningAggregator, bankId: string, roundId: number, timeoutMs = 15_000) {
  let refusals: string[] = [];
  try {
    await waitFor(
      `${bankId}'s update of round ${roundId} accepted`,
      async () => {
        const mine = (await agg.store.listAudit()).filter((e) => e.actor === bankId && e.details.roundId === roundId);
        refusals = mine.filter((e) => e.type === 'update.rejected').map((e) => String(e.details.reason));
        return mine.some((e) => e.type === 'update.accepted');
      },
      timeoutMs,
      10,
    );
  } catch (err) {
    if (refusals.length === 0) throw err;
    throw new Error(`${(err as Error).message}; refused: ${refusals.join('; ')}`);
  }
}

/** The rounds the admin API lists, newest first. */
export async function listRounds(agg: { url: string }): Promise<RoundRecord[]> {
  return (await api<RoundRecord[]>(agg, 'GET', '/api/rounds')).body;
}

/** Polls the rounds (newest first) until `pred` holds for them, and returns them. */
export function waitRounds(
  agg: { url: string },
  pred: (rounds: RoundRecord[]) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<RoundRecord[]> {
  return waitFor(
    what,
    async () => {
      const rs = await listRounds(agg);
      return pred(rs) ? rs : null;
    },
    timeoutMs,
    50,
  );
}

/** A file of a test bank's state directory as text, opened with TEST_STATE_KEY (the state is encrypted at rest). */
export function readBankStateFile(stateDir: string, rel: string): string {
  const file = path.join(stateDir, rel);
  const raw = readStateFile(createEnvelopeCipher(TEST_STATE_KEY), file);
  if (!raw) throw new Error(`${file}: no such file`);
  return raw.toString('utf8');
}

/** A model directory of a test bank's state (model/, models/v<n>), opened with TEST_STATE_KEY. */
export function loadBankStateModel(dir: string): ReturnType<typeof loadStateModel> {
  return loadStateModel(createEnvelopeCipher(TEST_STATE_KEY), dir);
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
