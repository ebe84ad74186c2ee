/**
 * An admin change the store cannot write (federation/core.ts ChangeNotStored) answers the admin and
 * leaves the round in flight alone: before, the failure went to the serial queue's recovery, which
 * fails the round. Real SQLite file, locked by a second connection as another process would; raw
 * banks speaking the real protocol.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningAggregator } from '../src/index.js';
import {
  api,
  cleanup,
  createBank,
  startTestAggregator,
  tempDir,
  updateAccepted,
  waitRounds,
} from './helpers/federation.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097; // the default 30-64-32-1 MLP

const dir = tempDir();
let agg: RunningAggregator | null = null;
afterAll(async () => {
  await agg?.close();
  cleanup(dir);
});

describe('an admin change the store refuses', () => {
  it('is answered 500 while a round is in flight, and the round still commits', async () => {
    agg = await startTestAggregator(path.join(dir, 'agg'), {
      autoStart: true,
      // Each refused write holds the event loop for the store's 5 s busy timeout: heartbeats and the
      // round's deadline must outlast two of them.
      heartbeatTimeoutMs: 60_000,
      // Raw banks do not evaluate: the evaluation stage closes at its (short) deadline.
      rules: { rounds: 1, roundTimeoutMs: 60_000, evaluationTimeoutMs: 200 } as never,
    });
    const banks: RawBank[] = [];
    for (const id of ['north', 'south']) {
      banks.push(await RawBank.join(`${agg.wsUrl}/ws/bank`, id, await createBank(agg, id)));
    }
    const assignments = await Promise.all(banks.map((b) => b.next('round_assignment')));
    const roundId = assignments[0]!.msg.roundId;
    const epochs = (await api<{ training: { epochs: number } }>(agg, 'GET', '/api/config')).body.training.epochs;

    const other = new Database(path.join(dir, 'agg', 'finsecure.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      expect((await api(agg, 'PUT', '/api/config', { training: { epochs: epochs + 1 } })).status).toBe(500);
      expect((await api(agg, 'POST', '/api/training/pause')).status).toBe(500);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const status = (
      await api<{ state: string; currentRound: { id: number; phase: string } | null }>(agg, 'GET', '/api/status')
    ).body;
    expect(status).toMatchObject({ state: 'running', currentRound: { id: roundId, phase: 'training' } });

    banks.forEach((b, i) =>
      b.send(updateMessage(assignments[i]!.msg), [
        { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(0.001 * (i + 1)) },
      ]),
    );
    for (const id of ['north', 'south']) await updateAccepted(agg, id, roundId);
    const rounds = await waitRounds(
      agg,
      (rs) => rs.some((r) => r.id === roundId && r.status !== 'training' && r.status !== 'evaluating'),
      `round ${roundId} ended`,
    );
    expect(rounds.find((r) => r.id === roundId)).toMatchObject({
      status: 'committed',
      participants: ['north', 'south'],
    });
    expect(rounds.filter((r) => r.status === 'failed')).toEqual([]);
    expect((await api<{ training: { epochs: number } }>(agg, 'GET', '/api/config')).body.training.epochs).toBe(epochs);
    for (const b of banks) b.close();
  }, 60_000);

  it('a rollback whose audit entry the store refuses stores no model version either', async () => {
    const roll = await startTestAggregator(path.join(dir, 'rollback'));
    try {
      const versions = async () => (await api<{ version: number }[]>(roll, 'GET', '/api/models')).body.length;
      const before = { versions: await versions(), global: roll.federation.globalModel().version };
      // The disk refuses exactly the rollback's entry (a trigger in the real file, as a full disk would).
      const db = new Database(path.join(dir, 'rollback', 'finsecure.db'));
      db.exec(
        `CREATE TRIGGER refuse_rollback BEFORE INSERT ON audit WHEN NEW.type = 'model.rolled_back'
         BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END`,
      );
      try {
        expect((await api(roll, 'POST', '/api/models/0/rollback')).status).toBe(500);
        expect(await versions()).toBe(before.versions);
        expect(roll.federation.globalModel().version).toBe(before.global);
      } finally {
        db.exec('DROP TRIGGER refuse_rollback');
        db.close();
      }
      // The store takes it again: model and entry together.
      const r = await api<{ version: number }>(roll, 'POST', '/api/models/0/rollback');
      expect(r.status).toBe(200);
      const audit = (
        await api<{ type: string; details: { newVersion: number } }[]>(roll, 'GET', '/api/audit?limit=1000')
      ).body;
      expect(audit.filter((e) => e.type === 'model.rolled_back').map((e) => e.details.newVersion)).toEqual([
        r.body.version,
      ]);
      expect((await api<{ ok: boolean }>(roll, 'GET', '/api/audit/verify')).body.ok).toBe(true);
    } finally {
      await roll.close();
    }
  }, 60_000);
});
