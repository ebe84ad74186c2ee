/**
 * Over real HTTP (issue 12, items 12 and 13): damaged stored models and rounds are
 * refused with an error naming what is damaged and where, never served; a damaged latest
 * model stops the next start; the public health check does not reveal the install path.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { redactPaths } from '../src/server/plugins/health.js';
import { model, randomWeights, round } from './store-contract.js';
import { api, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

const dir = tempDir();
afterAll(() => cleanup(dir));

function withFile<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('damaged stored data over the API', () => {
  it('refuses a flipped model bit and altered round metrics, and refuses to start on a damaged latest model', async () => {
    const dataDir = path.join(dir, 'agg');
    const file = path.join(dataDir, 'finsecure.db');
    const agg = await startTestAggregator(dataDir);
    try {
      const weights = agg.federation.globalModel().weights;
      await agg.store.commitRoundAudited(round(1), model(1, randomWeights(weights.length)), {
        at: 1,
        type: 'round.committed',
        actor: 'system',
        details: {},
      });
      expect((await api(agg, 'GET', '/api/rounds/1')).status).toBe(200);
      expect((await api(agg, 'GET', '/api/models/0')).status).toBe(200);
      // Behind the aggregator's back, through a second connection (WAL: it sees the change).
      withFile(file, (db) => {
        const { weights: bytes } = db.prepare('SELECT weights FROM models WHERE version = 0').get() as {
          weights: Buffer;
        };
        bytes[100] ^= 0x01;
        db.prepare('UPDATE models SET weights = ? WHERE version = 0').run(bytes);
        const { metrics } = db.prepare('SELECT metrics FROM rounds WHERE id = 1').get() as { metrics: string };
        db.prepare('UPDATE rounds SET metrics = ? WHERE id = 1').run(metrics.replace('0.55', '0.56'));
      });
      const m = await api<{ error: string; message: string }>(agg, 'GET', '/api/models/0/weights.bin');
      expect(m.status).toBe(500);
      expect(m.body).toMatchObject({ error: 'damaged_data' });
      expect(m.body.message).toMatch(/model v0 is damaged.*table models, row version 0/);
      // The current global model (v0 in memory) is checked against the stored one before serving.
      expect((await api(agg, 'GET', '/api/model')).status).toBe(500);
      const r = await api<{ error: string; message: string }>(agg, 'GET', '/api/rounds/1');
      expect(r.status).toBe(500);
      expect(r.body.message).toMatch(/round 1 does not match .*table rounds, row id 1/);
      expect((await api(agg, 'GET', '/api/rounds')).status).toBe(500);
      expect((await api(agg, 'GET', '/api/rounds/2')).status).toBe(404); // unrelated routes unaffected
    } finally {
      await agg.close();
    }
    // v1 names a committed round: it is the latest model and is intact, so damage it too.
    withFile(file, (db) => db.prepare('UPDATE models SET sha256 = ? WHERE version = 1').run('0'.repeat(64)));
    await expect(startTestAggregator(dataDir)).rejects.toThrow(/model v1 is damaged/);
  }, 60_000);

  it('health turns 503 "damaged" when the audit table is damaged under a running aggregator', async () => {
    const dataDir = path.join(dir, 'damaged-health');
    const file = path.join(dataDir, 'finsecure.db');
    const agg = await startTestAggregator(dataDir);
    try {
      for (let i = 0; i < 200; i++)
        await agg.store.appendAudit({ at: i, type: 'test', actor: 'system', details: { i, pad: 'x'.repeat(200) } });
      expect((await fetch(`${agg.url}/api/health`)).status).toBe(200);
      withFile(file, (db) => {
        // Everything into the main file, then scramble the audit table's root page there.
        db.pragma('wal_checkpoint(TRUNCATE)');
        const root = (
          db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit'").get() as { rootpage: number }
        ).rootpage;
        const size = db.pragma('page_size', { simple: true }) as number;
        const fd = openSync(file, 'r+');
        try {
          // A zeroed sector, keeping only the page type byte.
          const page = Buffer.alloc(size);
          readSync(fd, page, 0, 1, (root - 1) * size);
          writeSync(fd, page, 0, size, (root - 1) * size);
        } finally {
          closeSync(fd);
        }
        // A write through this connection moves the WAL on: the aggregator's cached pages are dropped.
        db.prepare("INSERT INTO settings (key, value) VALUES ('probe', '1')").run();
      });
      const res = await fetch(`${agg.url}/api/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'damaged', storeReadable: false });
    } finally {
      await agg.close().catch(() => {});
    }
  }, 60_000);

  it('health does not reveal the install path', async () => {
    const agg = await startTestAggregator(path.join(dir, 'health'));
    try {
      const res = await fetch(`${agg.url}/api/health`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).not.toContain(process.cwd());
      expect(text).not.toContain(path.resolve(__dirname, '..', '..', '..'));
    } finally {
      await agg.close();
    }
    expect(
      redactPaths(
        "tensorflow: Cannot find package '@tensorflow/tfjs-node' imported from /srv/finsecure/packages/common/dist/model/backend.js",
      ),
    ).toBe("tensorflow: Cannot find package '@tensorflow/tfjs-node' imported from …/backend.js");
    expect(redactPaths('failed at file:///opt/x/y.wasm and C:\\app\\z.js; 1/2 done')).toBe(
      'failed at …/y.wasm and …/z.js; 1/2 done',
    );
  });
});
