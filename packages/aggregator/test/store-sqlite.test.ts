import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore, SqliteStore } from '../src/store/index.js';
import { SCHEMA_VERSION } from '../src/store/sqlite-schema.js';
import { bank, model, randomWeights, round, runStoreContract, type StoreFixture } from './store-contract.js';

const root = mkdtempSync(path.join(tmpdir(), 'finsecure-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A new file in a directory that does not exist yet (the store must create it). */
function newDbPath(): string {
  counter++;
  return path.join(root, `case-${counter}`, 'data', 'finsecure.db');
}

/** Writes through a second connection, as someone with access to the file could. */
function withFile<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

async function fileFixture(): Promise<StoreFixture> {
  const file = newDbPath();
  const store = new SqliteStore(file);
  await store.init();
  return {
    store,
    reopen: async () => new SqliteStore(file),
    backdoor: {
      setDetails: async (seq, details) =>
        void withFile(file, (db) =>
          db.prepare('UPDATE audit SET details = ? WHERE seq = ?').run(JSON.stringify(details), seq),
        ),
      setHash: async (seq, hash) =>
        void withFile(file, (db) => db.prepare('UPDATE audit SET hash = ? WHERE seq = ?').run(hash, seq)),
      deleteEntry: async (seq) => void withFile(file, (db) => db.prepare('DELETE FROM audit WHERE seq = ?').run(seq)),
    },
    dispose: async () => rmSync(path.dirname(path.dirname(file)), { recursive: true, force: true }),
  };
}

runStoreContract('SqliteStore (file)', fileFixture, { durable: true, tamper: true });

runStoreContract('SqliteStore (:memory:)', async () => {
  const store = new SqliteStore(':memory:');
  await store.init();
  return { store };
});

describe('SqliteStore specifics', () => {
  it('creates parent directories and sets WAL mode and a schema version', async () => {
    const file = newDbPath();
    const store = new SqliteStore(file);
    await store.init();
    await store.close();
    expect(existsSync(file)).toBe(true);
    withFile(file, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({ v: SCHEMA_VERSION });
    });
  });

  it('applies migrations once across reopenings', async () => {
    const file = newDbPath();
    for (let i = 0; i < 3; i++) {
      const store = new SqliteStore(file);
      await store.init();
      await store.close();
    }
    withFile(file, (db) =>
      expect(db.prepare('SELECT COUNT(*) AS n FROM schema_version').get()).toEqual({ n: SCHEMA_VERSION }),
    );
  });

  it('refuses a database from a newer schema', async () => {
    const file = newDbPath();
    const store = new SqliteStore(file);
    await store.init();
    await store.close();
    withFile(file, (db) =>
      db
        .prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)')
        .run(SCHEMA_VERSION + 1, 'future', 0),
    );
    await expect(new SqliteStore(file).init()).rejects.toThrow(/newer than this aggregator supports/);
  });

  it('enforces foreign keys: a model cannot name a round that does not exist', async () => {
    const store = new SqliteStore(':memory:');
    await store.init();
    await expect(store.saveModel(model(5, randomWeights(4), 5))).rejects.toThrow(/FOREIGN KEY/);
    await store.close();
  });

  it('rolls commitRound back entirely when the model cannot be written', async () => {
    const store = new SqliteStore(':memory:');
    await store.init();
    const bad = { ...model(1, randomWeights(4)), spec: { loop: 1n } as Record<string, unknown> }; // bigint is not JSON
    await expect(store.commitRound(round(1), bad)).rejects.toThrow();
    expect(await store.getRound(1)).toBeNull();
    await store.close();
  });

  it('rolls setSettingsAudited back entirely when a setting cannot be written', async () => {
    const store = new SqliteStore(':memory:');
    await store.init();
    await store.setSetting('a', 1);
    const input = { at: 1, type: 'config.changed', actor: 'admin', details: {} };
    // 'a' is written first inside the transaction; 'b' (a bigint) then fails it.
    await expect(store.setSettingsAudited({ a: 2, b: 1n }, [input])).rejects.toThrow();
    expect(await store.getSetting('a')).toBe(1);
    expect(await store.getSetting('b')).toBeNull();
    expect(await store.listAudit()).toEqual([]);
    expect(await store.auditHead()).toBeNull();
    await store.close();
  });

  it('reports audit details that are no longer JSON as unreadable', async () => {
    const file = newDbPath();
    const store = new SqliteStore(file);
    await store.init();
    await store.appendAudit({ at: 1, type: 't', actor: 'a', details: {} });
    await store.appendAudit({ at: 2, type: 't', actor: 'a', details: {} });
    withFile(file, (db) => db.prepare('UPDATE audit SET details = ? WHERE seq = 2').run('{not json'));
    expect(await store.verifyAudit()).toMatchObject({
      ok: false,
      entries: 2,
      brokenAt: 2,
      reason: expect.stringMatching(/cannot be read/),
    });
    await store.close();
  });

  it('rejects use before init with a clear error', async () => {
    await expect(new SqliteStore(':memory:').getBank('x')).rejects.toThrow(/init\(\)/);
  });

  it('waits for the busy timeout when another connection holds the lock', async () => {
    const file = newDbPath();
    const store = new SqliteStore(file, { busyTimeoutMs: 500 });
    await store.init();
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    // The other connection cannot commit while better-sqlite3 blocks this thread, so the
    // write must give up with SQLITE_BUSY after the timeout rather than hang or fail at once.
    const started = Date.now();
    await expect(store.createBank(bank('alpha'))).rejects.toThrow(/locked|busy/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    other.exec('COMMIT');
    other.close();
    await store.createBank(bank('alpha'));
    await store.close();
  });
});

describe('createStore', () => {
  it('uses SQLite without a MongoDB URI', async () => {
    const file = newDbPath();
    const store = await createStore({ sqlitePath: file, mongodbUri: undefined });
    expect(store.kind).toBe('sqlite');
    await store.init();
    await store.close();
    expect(existsSync(file)).toBe(true);
  });

  it('uses MongoDB when a URI is given (without connecting until init)', async () => {
    const store = await createStore({
      mongodbUri: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100',
      sqlitePath: newDbPath(),
      dbName: 'x',
    });
    expect(store.kind).toBe('mongodb');
    await store.close();
  });
});
