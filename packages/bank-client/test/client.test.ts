/**
 * The bank client against a real aggregator over real sockets: it trains, sends only
 * updates and counts, keeps the latest global model on disk, drops an update that
 * missed its round, and reconnects by itself after the aggregator restarts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAggregator } from '@finsecure/aggregator';
import {
  api,
  cleanup,
  createBank,
  listRounds,
  loadBankStateModel,
  startBank,
  startTestAggregator,
  tempDir,
  TEST_STATE_KEY_ENV,
  waitFor,
  waitRounds,
  writeShards,
} from '../../aggregator/test/helpers/federation.js';
import type { BankClient } from '../src/index.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
let dir: string;
let shards: string[];
beforeAll(async () => {
  dir = tempDir('finsecure-bank-');
  shards = await writeShards(dir, 2, 800);
});
afterAll(() => cleanup(dir));

describe('bank client', () => {
  it('keeps the latest global model on disk after each commit, with the federation scaler', async () => {
    const agg = await startTestAggregator(path.join(dir, 'model'), { autoStart: true, rules: { rounds: 2 } as never });
    const banks: BankClient[] = [];
    try {
      for (const [i, id] of ['a', 'b'].entries())
        banks.push(await startBank(agg, id, await createBank(agg, id), shards[i]!, path.join(dir, 'model', id)));
      const committed: number[] = [];
      banks[0]!.on('committed', (c) => committed.push(c.modelVersion));
      await waitFor('two commits seen by the bank', () => committed.length >= 2, 60_000);
      await banks[0]!.idle();
      const { metadata, weights } = await loadBankStateModel(path.join(dir, 'model', 'a', 'model'));
      expect(metadata.modelVersion).toBe(2);
      expect(metadata.scaler!.mean).toHaveLength(30);
      const server = await api<{ sha256: string; version: number }>(agg, 'GET', '/api/model');
      expect(server.body.version).toBe(2);
      expect(metadata.sha256).toBe(server.body.sha256);
      expect(weights.data).toHaveLength(4097);
    } finally {
      banks.forEach((b) => b.stop());
      await agg.close();
    }
  });

  it('drops an update that missed its round deadline instead of sending it into a later round', async () => {
    const agg = await startTestAggregator(path.join(dir, 'late'), {
      autoStart: true,
      rules: { rounds: 1, minBanks: 1, quorum: 1, roundTimeoutMs: 150 } as never,
      training: { epochs: 120, batchSize: 16 } as never,
    });
    try {
      const bank = await startBank(
        agg,
        'slow',
        await createBank(agg, 'slow'),
        shards[0]!,
        path.join(dir, 'late', 'slow'),
      );
      const dropped = await new Promise<{ roundId: number; reason: string }>((resolve) =>
        bank.on('update_dropped', resolve),
      );
      expect(dropped.reason).toMatch(/round ended|deadline passed/);
      const rounds = await listRounds(agg);
      const failed = rounds.find((r) => r.id === dropped.roundId)!;
      expect(failed.status).toBe('failed');
      expect(failed.participants).toEqual([]);
      // The dropped update never shows up as accepted anywhere.
      const audit = await api<{ type: string }[]>(agg, 'GET', '/api/audit?limit=1000');
      expect(audit.body.filter((e) => e.type === 'update.accepted')).toHaveLength(0);
      bank.stop();
    } finally {
      await agg.close();
    }
  });

  const HEARTBEAT_TIMEOUT_MS = 8_000;
  it('keeps heartbeats flowing during long local training', async () => {
    // The bank runs as its own process (the built CLI): in one process a starved event
    // loop would also stop the aggregator's heartbeat timer and hide the problem.
    const agg = await startTestAggregator(path.join(dir, 'heartbeat'), {
      autoStart: true,
      // Generous enough that a loaded machine (both cores busy with other test files) cannot
      // starve a healthy connection into a false failure: the aggregator cuts a bank after 8 s of
      // silence, and the bank (which hears from it at least every two intervals) gives up after
      // four intervals and 2 s, 6 s; a 2.5 s timeout at 100 ms intervals failed on a 3 s stall.
      // The training below still lasts longer than the timeout itself.
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      rules: { rounds: 1, minBanks: 1, quorum: 1, roundTimeoutMs: 300_000 } as never,
      // 48,000 training rows × 40 epochs in batches of 8: about 13 s on the kernels of this 2-core machine.
      training: { epochs: 40, batchSize: 8, smoteRatio: 0 } as never,
    });
    const [big] = await writeShards(path.join(dir, 'heartbeat'), 1, 60_000);
    const child = spawn(
      process.execPath,
      [
        cli,
        'start',
        '--server',
        `${agg.wsUrl}/ws/bank`,
        '--bank-id',
        'busy',
        '--data',
        big!,
        '--state-dir',
        path.join(dir, 'heartbeat', 'busy'),
        '--backend',
        'wasm',
        '--log-level',
        'warn',
      ],
      {
        env: { ...process.env, ...TEST_STATE_KEY_ENV, FINSECURE_BANK_TOKEN: await createBank(agg, 'busy') },
        stdio: 'ignore',
      },
    );
    try {
      const [round] = await waitRounds(
        agg,
        (rs) => rs.some((r) => r.status === 'committed' || r.status === 'failed'),
        'round committed',
        300_000,
      );
      expect(round.status).toBe('committed');
      // Training took longer than the heartbeat timeout, and the connection survived it.
      expect(round.banks.busy!.trainMs).toBeGreaterThan(HEARTBEAT_TIMEOUT_MS);
      const audit = await api<{ type: string; actor: string }[]>(agg, 'GET', '/api/audit?limit=1000');
      expect(audit.body.filter((e) => e.type === 'bank.left' && e.actor === 'busy')).toHaveLength(0);
    } finally {
      child.kill('SIGKILL');
      await agg.close();
    }
  }, 320_000);

  it('reconnects after the aggregator restarts and takes part again', async () => {
    const dataDir = path.join(dir, 'restart');
    let agg: RunningAggregator = await startTestAggregator(dataDir, { autoStart: true, rules: { rounds: 1 } as never });
    const port = Number(new URL(agg.url).port);
    const tokens = [await createBank(agg, 'a'), await createBank(agg, 'b')];
    const banks = [
      await startBank(agg, 'a', tokens[0]!, shards[0]!, path.join(dataDir, 'a')),
      await startBank(agg, 'b', tokens[1]!, shards[1]!, path.join(dataDir, 'b')),
    ];
    try {
      let welcomes = 0;
      banks[0]!.on('welcome', () => welcomes++);
      await waitFor(
        'first round',
        async () => (await api<{ version: number }>(agg, 'GET', '/api/model')).body.version >= 1,
        60_000,
      );
      await agg.close();
      await waitFor('bank noticed the disconnect', () => new Promise<boolean>((r) => setTimeout(() => r(true), 300)));
      agg = await startTestAggregator(dataDir, { port, autoStart: true, rules: { rounds: 2 } as never });
      await waitFor('bank reconnected', () => welcomes >= 1, 30_000);
      await waitFor(
        'a round after the restart',
        async () => (await api<{ version: number }>(agg, 'GET', '/api/model')).body.version >= 2,
        60_000,
      );
      const rounds = await listRounds(agg);
      expect(rounds[0]!.participants.sort()).toEqual(['a', 'b']);
      expect(existsSync(path.join(dataDir, 'a', 'model', 'model.json'))).toBe(true);
    } finally {
      await Promise.all(banks.map((b) => b.stop()));
      await agg.close();
    }
  });
});
