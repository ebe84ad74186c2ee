/**
 * The SQLite database holds password hashes and TOTP secrets: the data directory the store
 * creates is 0700, and the database, its WAL and its SHM are 0600, as the audit key beside them
 * (@finsecure/accounts/sqlite-files restrictSqliteFiles). Real files, under the usual umask 022.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite.js';
import { loadAuditKey } from '../src/audit/signer.js';
import { api, cleanup, createBank, startTestAggregator, tempDir } from './helpers/federation.js';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

let dir: string;
let umask: number;
beforeEach(() => {
  dir = tempDir();
  // The usual umask, whatever this machine's is: it lets SQLite's default 0644 through.
  umask = process.umask(0o022);
});
afterEach(() => {
  process.umask(umask);
  cleanup(dir);
});

describe('store file modes', () => {
  it('a fresh data directory is 0700, the database, WAL, SHM and audit key 0600', async () => {
    const dataDir = path.join(dir, 'new', 'data');
    const agg = await startTestAggregator(dataDir);
    try {
      // A write after start (the WAL and SHM exist while the aggregator runs).
      await createBank(agg, 'north');
      expect((await api(agg, 'GET', '/api/banks')).status).toBe(200);
      const db = path.join(dataDir, 'finsecure.db');
      expect(existsSync(`${db}-wal`)).toBe(true);
      expect(existsSync(`${db}-shm`)).toBe(true);
      expect({
        dir: mode(dataDir),
        db: mode(db),
        wal: mode(`${db}-wal`),
        shm: mode(`${db}-shm`),
        key: mode(path.join(dataDir, 'audit-key.pem')),
      }).toEqual({ dir: '700', db: '600', wal: '600', shm: '600', key: '600' });
    } finally {
      await agg.close();
    }
  });

  it('a database, WAL and SHM an older version left 0644 become 0600, and stay so when SQLite recreates them', async () => {
    mkdirSync(path.join(dir, 'old'));
    const file = path.join(dir, 'old', 'finsecure.db');
    // Another connection keeps the WAL and SHM on disk while the store opens.
    const other = new Database(file);
    other.pragma('journal_mode = WAL');
    other.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
    const store = new SqliteStore(file, { auditKeyFile: null });
    await store.init();
    expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(['600', '600', '600']);
    other.close();
    await store.close();
    // The last connection closed: SQLite removed the WAL and SHM; it recreates them from the database's mode.
    expect(existsSync(`${file}-wal`)).toBe(false);
    const again = new SqliteStore(file, { auditKeyFile: null });
    await again.init();
    await again.createBank({
      id: 'b',
      name: 'B',
      tokenHash: 'a'.repeat(64),
      createdAt: 1,
      lastSeenAt: null,
      revokedAt: null,
    });
    expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(['600', '600', '600']);
    await again.close();
  });

  it('an audit key kept elsewhere (--audit-key) gets a 0700 directory when one is made for it', () => {
    const file = path.join(dir, 'keys', 'audit', 'audit-key.pem');
    loadAuditKey(file, { create: true });
    expect({ keys: mode(path.join(dir, 'keys')), audit: mode(path.dirname(file)), key: mode(file) }).toEqual({
      keys: '700',
      audit: '700',
      key: '600',
    });
  });

  it('leaves an existing data directory as it is', async () => {
    const dataDir = path.join(dir, 'shared');
    mkdirSync(dataDir, { mode: 0o750 });
    chmodSync(dataDir, 0o750);
    const store = new SqliteStore(path.join(dataDir, 'finsecure.db'), { auditKeyFile: null });
    await store.init();
    expect(mode(dataDir)).toBe('750');
    expect(mode(path.join(dataDir, 'finsecure.db'))).toBe('600');
    await store.close();
  });
});
