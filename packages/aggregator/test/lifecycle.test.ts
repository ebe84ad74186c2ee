/**
 * A federation's life after its first run: every committed model version stays
 * downloadable, the best is marked, an admin can roll back (audited); starting a finished
 * federation says so or extends it; a restart with another architecture of the same size is
 * refused. Real aggregator, real bank clients, real SQLite files.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import type { ModelVersionView, StatusView } from '@finsecure/common/api';
import { weightsSha256 } from '@finsecure/common/model';
import type { RunningAggregator } from '../src/index.js';
import {
  api,
  cleanup,
  createBank,
  loadBankStateModel,
  startBank,
  startTestAggregator,
  tempDir,
  waitFor,
  writeShards,
} from './helpers/federation.js';

let dir: string;
let agg: RunningAggregator;
const banks: BankClient[] = [];

beforeAll(async () => {
  dir = tempDir();
  const shards = await writeShards(dir, 2);
  agg = await startTestAggregator(path.join(dir, 'life'), { autoStart: true, rules: { rounds: 2 } as never });
  for (const [i, id] of ['a', 'b'].entries()) {
    const token = await createBank(agg, id);
    banks.push(await startBank(agg, id, token, shards[i]!, path.join(dir, `${id}-state`)));
  }
  await waitFor('training finished', async () => (await status()).state === 'finished', 60_000);
});
afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  await agg?.close();
  cleanup(dir);
});

const status = async () => (await api<StatusView>(agg, 'GET', '/api/status')).body;

describe('after the configured rounds', () => {
  it('refuses a plain start with a message that says what to do', async () => {
    const r = await api<{ error: string; message: string }>(agg, 'POST', '/api/training/start');
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/all 2 configured rounds are committed .*additionalRounds/);
    expect((await status()).state).toBe('finished');
  });

  it('a start with additionalRounds the store refuses raises neither the budget nor the state', async () => {
    const before = await status();
    // Only the entries a start writes: a bank's reconnection may add others meanwhile.
    const startEntries = async () =>
      (await agg.store.listAudit()).filter((e) => e.type === 'config.changed' || e.type === 'training.control');
    const entries = (await startEntries()).length;
    // The disk refuses the start's training.control entry (a real SQLite abort, from a second
    // connection): the raised budget and its config.changed entry must not stay without it.
    const other = new Database(path.join(dir, 'life', 'finsecure.db'));
    other.exec(`CREATE TRIGGER refuse_start BEFORE INSERT ON audit WHEN NEW.type = 'training.control'
                BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    try {
      const r = await api(agg, 'POST', '/api/training/start', { additionalRounds: 5 });
      expect(r.status).toBe(500);
    } finally {
      other.exec('DROP TRIGGER refuse_start');
      other.close();
    }
    const after = await status();
    expect(after.roundsConfigured).toBe(before.roundsConfigured);
    expect(after.state).toBe('finished');
    expect((await agg.store.getSetting<{ rules: { rounds: number } }>('federation'))!.rules.rounds).toBe(2);
    expect((await startEntries()).length).toBe(entries);
    expect((await agg.store.verifyAudit()).ok).toBe(true);
  });

  it('lists every version with its round and metrics, and marks the best by AUPRC', async () => {
    const list = (await api<ModelVersionView[]>(agg, 'GET', '/api/models')).body;
    expect(list.map((m) => m.version)).toEqual([2, 1, 0]);
    expect(list[2]).toMatchObject({ origin: 'initial', roundId: null });
    expect(list[0]).toMatchObject({ origin: 'round', current: true });
    const best = list.filter((m) => m.best);
    expect(best).toHaveLength(1);
    expect(best[0]!.auprc).toBe(Math.max(...list.filter((m) => m.auprc !== null).map((m) => m.auprc!)));
    const one = await api<{ sha256: string; parameters: number; files: string[] }>(agg, 'GET', '/api/models/1');
    expect(one.status).toBe(200);
    expect(one.body.parameters).toBe(4097);
    const bin = await fetch(`${agg.url}/api/models/1/weights.bin`, {
      headers: { authorization: `Bearer test-admin-token-0123456789` },
    });
    expect((await bin.arrayBuffer()).byteLength).toBe(4097 * 4);
    expect((await api(agg, 'GET', '/api/models/99')).status).toBe(404);
  });

  it('the banks keep every version they received, for the scorer', async () => {
    // Sealed at rest under the bank's state key.
    const v1 = await loadBankStateModel(path.join(dir, 'a-state', 'models', 'v1'));
    const v2 = await loadBankStateModel(path.join(dir, 'a-state', 'models', 'v2'));
    expect(v1.metadata.modelVersion).toBe(1);
    expect(v2.metadata.modelVersion).toBe(2);
    expect(v1.weights.data).not.toEqual(v2.weights.data);
    // Bit for bit the aggregator's, though the commits named the candidates the banks had evaluated
    // instead of sending them again (model by reference).
    expect(weightsSha256(v1.weights.data)).toBe((await agg.store.getModel(1))!.sha256);
    expect(weightsSha256(v2.weights.data)).toBe((await agg.store.getModel(2))!.sha256);
    const round2 = (await agg.store.listRounds()).find((r) => r.modelVersion === 2)!;
    expect(round2.banks.a!.bytesDown).toBeLessThan(1.5 * 4097 * 4);
  });

  it('an admin rolls back to a version: stored as a new version, audited, viewers may not', async () => {
    expect((await api(agg, 'POST', '/api/models/1/rollback', undefined, 'test-viewer-token-0123456789')).status).toBe(
      403,
    );
    const r = await api<{ version: number; restoredFrom: number }>(agg, 'POST', '/api/models/1/rollback');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ version: 3, restoredFrom: 1 });
    const v1 = await agg.store.getModel(1);
    expect(Array.from(agg.federation.globalModel().weights)).toEqual(Array.from(v1!.weights));
    const list = (await api<ModelVersionView[]>(agg, 'GET', '/api/models')).body;
    expect(list[0]).toMatchObject({ version: 3, origin: 'rollback', current: true });
    const audit = (
      await api<{ type: string; actor: string; details: Record<string, unknown> }[]>(agg, 'GET', '/api/audit?limit=200')
    ).body;
    expect(audit.find((e) => e.type === 'model.rolled_back')?.details).toMatchObject({
      restoredFrom: 1,
      newVersion: 3,
    });
    // Under the caller's name (before: always "admin").
    expect(audit.find((e) => e.type === 'model.rolled_back')?.actor).toBe('bootstrap-admin-token');
  });

  it('starting with additionalRounds trains that many more rounds from the rolled-back model', async () => {
    const r = await api<{ state: string }>(agg, 'POST', '/api/training/start', { additionalRounds: 1 });
    expect(r.status).toBe(200);
    const s = await waitFor(
      'the extra round',
      async () => {
        const st = await status();
        return st.state === 'finished' && st.roundsCompleted === 3 ? st : null;
      },
      60_000,
    );
    expect(s.roundsConfigured).toBe(3);
    expect(s.modelVersion).toBe(4);
    const bad = await api<{ message: string }>(agg, 'POST', '/api/training/start', { additionalRounds: 0 });
    expect(bad.status).toBe(400);
  });
});

describe('restart with another architecture of the same size', () => {
  it('is refused, naming both architectures', async () => {
    const d = path.join(dir, 'arch');
    const first = await startTestAggregator(d);
    await first.close();
    // [64, 32] and [128] both have 4,097 weights for 30 features.
    await expect(startTestAggregator(d, { model: { inputSize: 30, hidden: [128], dropout: 0.2 } })).rejects.toThrow(
      /hidden \[64, 32\].* hidden \[128\].*hidden differs/,
    );
  });

  it('a model that cannot fit the frame limit is refused at start-up with both numbers', async () => {
    await expect(startTestAggregator(path.join(dir, 'frames'), { maxFrameBytes: 8192 })).rejects.toThrow(
      /needs frames of \d+ bytes, more than maxFrameBytes 8192/,
    );
  });
});
