/**
 * kill -9 during each stage of a secure round (issue 13): the aggregator runs as a child process
 * of the built CLI with --secure-aggregation on a real SQLite file, with two real bank clients and
 * one hand-driven bank (helpers/secagg-bank.ts) that holds the round in the stage under test (each
 * stage of the fit pass, and the masked evaluation of the evaluation pass) by not
 * answering its request (a large grace period keeps the stage open for it). After each restart the
 * interrupted round is failed with "aggregator restarted", the real banks reconnect by themselves,
 * and the next secure round runs; the last one commits (the hand-driven bank drops after sharing
 * its keys, so the unmasking also rebuilds a dropped bank's masks in the restarted process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import { generateIdentityKeyPair } from '@finsecure/common/secagg';
import type { BankClient } from '@finsecure/bank-client';
import { ADMIN, api, cleanup, createBank, startBank, tempDir, waitFor, writeShards } from './helpers/federation.js';
import { SECAGG_STAGES, SecAggTestBank, type PlayOptions } from './helpers/secagg-bank.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const dir = tempDir();
const port = 20_000 + Math.floor(Math.random() * 20_000);
const agg = { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
const children: ChildProcess[] = [];
const banks: BankClient[] = [];
let gamma: SecAggTestBank | undefined;

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
      '3',
      '--quorum',
      '2',
      '--secure-aggregation',
      '--epochs',
      '1',
      '--batch-size',
      '64',
      // Every stage waits for the hand-driven bank: nothing closes on a timer during the test.
      '--round-timeout',
      '600000',
      '--secagg-stage-timeout',
      '600000',
      '--grace',
      '600000',
      '--evaluation-timeout',
      '30000',
      '--round-interval',
      '100',
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
  if (gamma && !gamma.lost) gamma.raw.close();
  children.forEach((c) => c.kill('SIGKILL'));
  cleanup(dir);
});

const rounds = async () => (await api<RoundRecord[]>(agg, 'GET', '/api/rounds?limit=1000')).body;
const up = () =>
  waitFor('aggregator up', async () => (await fetch(`${agg.url}/api/health`).catch(() => null))?.ok, 30_000, 100);

describe('secure aggregation: restart and resume', () => {
  it('kill -9 in each stage fails the round with "aggregator restarted"; the next secure round commits', async () => {
    const shards = await writeShards(dir, 2, 400);
    let child = startCli();
    await up();
    const tokens = [await createBank(agg, 'alpha'), await createBank(agg, 'beta'), await createBank(agg, 'gamma')];
    const over = { reconnectMaxMs: 300 };
    banks.push(await startBank(agg as never, 'alpha', tokens[0]!, shards[0]!, path.join(dir, 'alpha'), over));
    banks.push(await startBank(agg as never, 'beta', tokens[1]!, shards[1]!, path.join(dir, 'beta'), over));
    const deltaOf = (j: number) => 0.001 * ((j % 7) - 3);
    gamma = await new SecAggTestBank(
      `${agg.wsUrl}/ws/bank`,
      'gamma',
      tokens[2]!,
      generateIdentityKeyPair(),
      400,
      deltaOf,
    ).connect();

    const killed: number[] = [];
    // Every stage of the fit pass, then the evaluation pass's masked evaluation (the candidate
    // exists, unmasked, but is not committed: a restart must not commit it either).
    const holds: PlayOptions[] = [
      ...SECAGG_STAGES.map((stage) => ({ stallAt: stage })),
      { stallAtEvaluation: 'masked_fit' },
    ];
    for (const hold of holds) {
      const stage = hold.stallAt ?? `evaluation ${hold.stallAtEvaluation}`;
      // gamma answers the stages before `stage` honestly and holds the round in `stage`.
      const { roundId, result } = await gamma.play(hold);
      expect(result.outcome).toBe('stalled');
      // The round is stored (as training) before any bank is asked anything.
      await waitFor('the round stored', async () => (await rounds()).find((r) => r.id === roundId), 10_000, 20);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      killed.push(roundId);

      child = startCli();
      await up();
      const interrupted = (await rounds()).find((r) => r.id === roundId)!;
      expect(interrupted.status, `round ${roundId} killed in ${stage}`).toBe('failed');
      expect(interrupted.failureReason).toBe('aggregator restarted');
      expect(interrupted.config.rules).toMatchObject({ secureAggregation: true });
      await gamma.connect();
    }
    // Nothing was committed: every round was interrupted before its model existed.
    const model = await api<{ version: number }>(agg, 'GET', '/api/model');
    expect(model.body.version).toBe(0);

    // The next round: gamma shares its keys and disappears; alpha and beta (reconnected by
    // themselves) commit a secure round, unmasked with gamma's key shares.
    const { roundId, result } = await gamma.play({ loseAt: 'masked_fit' });
    expect(result.outcome).toBe('lost');
    expect(roundId).toBeGreaterThan(Math.max(...killed));
    const committed = await waitFor(
      'the secure round after the restarts to commit',
      async () =>
        (await rounds()).find(
          (r) => r.id === roundId && r.status !== 'training' && r.status !== 'aggregating' && r.status !== 'evaluating',
        ),
      60_000,
      100,
    );
    expect(committed.failureReason).toBeNull();
    expect(committed.status).toBe('committed');
    expect(committed.baseModelVersion).toBe(0);
    expect([...committed.participants].sort()).toEqual(['alpha', 'beta']);
    expect(committed.banks.gamma!.rejected).toMatch(/^masked_fit: disconnected/);
    expect(committed.config.rules).toMatchObject({ secureAggregation: true });
    const failedAudits = await api<{ type: string; details: { roundId?: number; reason?: string } }[]>(
      agg,
      'GET',
      '/api/audit?limit=10000',
    );
    const list = Array.isArray(failedAudits.body)
      ? failedAudits.body
      : (failedAudits.body as { entries: never[] }).entries;
    for (const id of killed)
      expect(
        list.some(
          (e: { type: string; details: { roundId?: number; reason?: string } }) =>
            e.type === 'round.failed' && e.details.roundId === id && e.details.reason === 'aggregator restarted',
        ),
      ).toBe(true);
    const verify = await api<{ ok: boolean }>(agg, 'GET', '/api/audit/verify');
    expect(verify.body.ok).toBe(true);
  }, 240_000);
});
