/**
 * kill -9 in the middle of a round: the restarted aggregator marks the interrupted round
 * failed ("aggregator restarted"), continues from the last committed model, and the
 * bank clients reconnect by themselves and carry on. The aggregator runs as a real
 * child process of the built CLI, on a real SQLite file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import type { BankClient } from '@finsecure/bank-client';
import { ADMIN, api, cleanup, createBank, startBank, tempDir, waitFor, writeShards } from './helpers/federation.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const dir = tempDir();
const port = 20_000 + Math.floor(Math.random() * 20_000);
const agg = { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
const children: ChildProcess[] = [];
const banks: BankClient[] = [];

function startCli(): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      cli,
      '--port',
      String(port),
      '--data-dir',
      dir,
      '--rounds',
      '40',
      '--min-banks',
      '2',
      '--quorum',
      '2',
      // Rounds that train for about a second, so the kill lands inside one.
      '--epochs',
      '30',
      '--batch-size',
      '32',
      '--round-timeout',
      '30000',
      '--grace',
      '0',
      '--round-interval',
      '300',
      '--log-level',
      'warn',
      '--backend',
      'wasm',
      '--auto-start',
    ],
    {
      env: {
        ...process.env,
        FINSECURE_ADMIN_TOKEN: ADMIN,
        FINSECURE_HEARTBEAT_INTERVAL_MS: '300',
        FINSECURE_HEARTBEAT_TIMEOUT_MS: '2000',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  return child;
}

afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  children.forEach((c) => c.kill('SIGKILL'));
  cleanup(dir);
});

const rounds = async () => (await api<RoundRecord[]>(agg, 'GET', '/api/rounds?limit=1000')).body;

describe('restart and resume on SQLite', () => {
  it('recovers from kill -9 mid-round and the banks reconnect', async () => {
    const shards = await writeShards(dir, 2, 1500);
    let child = startCli();
    await waitFor(
      'aggregator up',
      async () => (await fetch(`${agg.url}/api/health`).catch(() => null))?.ok,
      30_000,
      100,
    );
    const tokens = [await createBank(agg, 'alpha'), await createBank(agg, 'beta')];
    const reconnectMaxMs = 300;
    banks.push(
      await startBank(agg as never, 'alpha', tokens[0]!, shards[0]!, path.join(dir, 'alpha'), { reconnectMaxMs }),
    );
    banks.push(
      await startBank(agg as never, 'beta', tokens[1]!, shards[1]!, path.join(dir, 'beta'), { reconnectMaxMs }),
    );
    await waitFor(
      'one committed round',
      async () => (await rounds()).some((r) => r.status === 'committed'),
      60_000,
      100,
    );
    // Kill while a round is training (not between rounds).
    const inFlight = await waitFor(
      'a round in training',
      async () => (await rounds()).find((r) => r.status === 'training'),
      30_000,
      10,
    );
    const before = await rounds();
    const lastCommitted = Math.max(...before.filter((r) => r.status === 'committed').map((r) => r.modelVersion!));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    child = startCli();
    await waitFor(
      'aggregator back',
      async () => (await fetch(`${agg.url}/api/health`).catch(() => null))?.ok,
      30_000,
      100,
    );
    const after = await rounds();
    const interrupted = after.find((r) => r.id === inFlight.id)!;
    expect(interrupted.status).toBe('failed');
    expect(interrupted.failureReason).toBe('aggregator restarted');
    const model = await api<{ version: number }>(agg, 'GET', '/api/model');
    expect(model.body.version).toBe(lastCommitted);
    // Banks reconnect by themselves; training resumes and commits on top of the stored model.
    const resumed = await waitFor(
      'a round committed after the restart',
      async () => (await rounds()).find((r) => r.id > inFlight.id && r.status === 'committed'),
      60_000,
      100,
    );
    expect(resumed.baseModelVersion).toBe(lastCommitted);
    expect(resumed.participants.sort()).toEqual(['alpha', 'beta']);
    const verify = await api<{ ok: boolean }>(agg, 'GET', '/api/audit/verify');
    expect(verify.body.ok).toBe(true);
  }, 180_000);
});
