/**
 * Damaged storage is refused, never served (issue 12, items 11 and 12): real SQLite files
 * damaged behind the store's back through a second connection or raw file writes.
 */
import {
  closeSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { recordShutdown, StoredStateError, verifyStoredState } from '../src/audit/startup.js';
import { DamagedDataError } from '../src/store/integrity.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { model, randomWeights, round } from './store-contract.js';

const root = mkdtempSync(path.join(tmpdir(), 'finsecure-integrity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newFile = () => path.join(root, `case-${++n}`, 'finsecure.db');
const clock = () => 1_700_000_000_000;

/** A store with models v0..v`rounds` and rounds 1..`rounds`, committed with their audit entries. */
async function federation(file: string, rounds: number, extraEntriesPerRound = 0): Promise<SqliteStore> {
  const store = new SqliteStore(file);
  await store.init();
  await store.saveModel(model(0, randomWeights(64)));
  for (let i = 1; i <= rounds; i++) {
    for (let k = 0; k < extraEntriesPerRound; k++)
      await store.appendAudit({ at: i, type: 'update.accepted', actor: `bank${k}`, details: { roundId: i } });
    await store.commitRoundAudited(round(i), model(i, randomWeights(64)), {
      at: i,
      type: 'round.committed',
      actor: 'system',
      details: { participants: ['alpha'] },
    });
  }
  return store;
}

function withFile<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('models', () => {
  it('refuses a model with one flipped bit, naming version, file, table and row', async () => {
    const file = newFile();
    const store = await federation(file, 3);
    await store.close();
    withFile(file, (db) => {
      const { weights } = db.prepare('SELECT weights FROM models WHERE version = 2').get() as { weights: Buffer };
      weights[17] ^= 0x04;
      db.prepare('UPDATE models SET weights = ? WHERE version = 2').run(weights);
    });
    const again = new SqliteStore(file);
    await again.init();
    const err = await again.getModel(2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamagedDataError);
    expect((err as Error).message).toMatch(/model v2 is damaged/);
    expect((err as Error).message).toContain(`file ${file}, table models, row version 2`);
    expect(await again.getModel(1)).not.toBeNull(); // the others are fine
    const report = await again.checkStorage();
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    await expect(verifyStoredState(again, { version: 't', now: clock })).rejects.toThrow(StoredStateError);
    await again.close();
  });

  it('refuses the latest model when it is the damaged one (what the aggregator loads)', async () => {
    const file = newFile();
    await (await federation(file, 2)).close();
    withFile(file, (db) => db.prepare('UPDATE models SET sha256 = ? WHERE version = 2').run('f'.repeat(64)));
    const again = new SqliteStore(file);
    await again.init();
    await expect(again.latestModel()).rejects.toThrow(/model v2 is damaged/);
    await again.close();
  });
});

describe('rounds', () => {
  it('refuses a committed round whose metrics were changed, naming round, file, table and row', async () => {
    const file = newFile();
    await (await federation(file, 3)).close();
    withFile(file, (db) => {
      const { metrics } = db.prepare('SELECT metrics FROM rounds WHERE id = 2').get() as { metrics: string };
      db.prepare('UPDATE rounds SET metrics = ? WHERE id = 2').run(metrics.replace('0.55', '0.95'));
    });
    const again = new SqliteStore(file);
    await again.init();
    await expect(again.getRound(2)).rejects.toThrow(`table rounds, row id 2`);
    await expect(again.getRound(2)).rejects.toThrow(/altered/);
    await expect(again.listRounds()).rejects.toThrow(DamagedDataError);
    expect(await again.getRound(1)).toEqual(round(1));
    expect((await again.checkStorage()).problems).toEqual([expect.stringMatching(/round 2 does not match/)]);
    await again.close();
  });

  it('names the file, table, row and column of a round or setting that is not JSON, sealed or not', async () => {
    const file = newFile();
    const store = await federation(file, 2);
    await store.saveRound({ ...round(3), status: 'failed', modelVersion: null, failureReason: 'test' });
    await store.setSetting('scaler', { mean: [0], std: [1] });
    await store.close();
    withFile(file, (db) => {
      db.prepare(`UPDATE rounds SET banks = '{oops' WHERE id IN (2, 3)`).run();
      db.prepare(`UPDATE settings SET value = '{oops' WHERE key = 'scaler'`).run();
    });
    const again = new SqliteStore(file);
    await again.init();
    for (const id of [2, 3]) {
      const err = await again.getRound(id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DamagedDataError);
      expect((err as Error).message).toMatch(
        new RegExp(`^file ${file.replace(/[.]/g, '\\.')}, table rounds, row id ${id}: column banks is not JSON \\(`),
      );
    }
    await expect(again.listRoundsAscending()).rejects.toThrow(DamagedDataError);
    const setting = await again.getSetting('scaler').catch((e: unknown) => e);
    expect(setting).toBeInstanceOf(DamagedDataError);
    expect((setting as Error).message).toContain(`file ${file}, table settings, row key scaler: not JSON (`);
    expect((await again.checkStorage()).problems).toEqual([
      expect.stringContaining('table rounds, row id 2: column banks'),
    ]);
    await again.close();
  });

  it('refuses a round whose seal was moved to another entry', async () => {
    const file = newFile();
    await (await federation(file, 2)).close();
    withFile(file, (db) => db.prepare('UPDATE rounds SET audit_seq = 1 WHERE id = 2').run());
    const again = new SqliteStore(file);
    await again.init();
    await expect(again.getRound(2)).rejects.toThrow(/not about this round/);
    await again.close();
  });
});

describe('atomic commit and the start-up pass', () => {
  it('records a round committed without its audit entry (killed in between) at the next start', async () => {
    const file = newFile();
    const store = await federation(file, 2);
    // The old, non-atomic path: the round and model are stored, the process dies before the append.
    await store.commitRound(round(3), model(3, randomWeights(64)));
    await store.close(); // no recordShutdown: an unclean stop
    const again = new SqliteStore(file);
    await again.init();
    const report = await verifyStoredState(again, { version: '9.9.9', now: clock });
    expect(report.repaired).toEqual([{ roundId: 3, seq: 3, kind: 'recovered' }]);
    const entries = await again.listAudit({ afterSeq: 2 });
    expect(entries[0]).toMatchObject({
      type: 'round.committed',
      details: { roundId: 3, recovered: true, reason: expect.stringMatching(/without its audit entry/) },
    });
    expect(entries[1]).toMatchObject({
      type: 'aggregator.started',
      details: { version: '9.9.9', previousShutdown: 'first start', repairedRounds: [3] },
    });
    expect(await again.getRound(3)).toEqual(round(3));
    expect((await again.verifyAudit()).ok).toBe(true);
    await again.close();
  });

  it('seals a round whose round.committed entry predates sealing, pointing at that entry', async () => {
    const file = newFile();
    const store = await federation(file, 0);
    await store.commitRound(round(1), model(1, randomWeights(64)));
    const old = await store.appendAudit({ at: 1, type: 'round.committed', actor: 'system', details: { roundId: 1 } });
    const report = await verifyStoredState(store, { version: 'x', now: clock });
    expect(report.repaired).toEqual([{ roundId: 1, seq: old.seq + 1, kind: 'sealed' }]);
    const [seal] = await store.listAudit({ afterSeq: old.seq, limit: 1 });
    expect(seal).toMatchObject({ type: 'round.sealed', details: { roundId: 1, committedEntry: old.seq } });
    await store.close();
  });

  it('audits every start with the previous shutdown clean or not', async () => {
    const file = newFile();
    const s1 = await federation(file, 1);
    expect((await verifyStoredState(s1, { version: 'a', now: clock })).previousShutdown).toBe('first start');
    await s1.close(); // crash: no stop entry
    const s2 = new SqliteStore(file);
    await s2.init();
    expect((await verifyStoredState(s2, { version: 'b', now: clock })).previousShutdown).toBe('unclean');
    await recordShutdown(s2, { version: 'b', now: clock });
    await s2.close();
    const s3 = new SqliteStore(file);
    await s3.init();
    const r = await verifyStoredState(s3, { version: 'c', now: clock });
    expect(r.previousShutdown).toBe('clean');
    expect(r.started.details).toMatchObject({ version: 'c', previousVersion: 'b', previousShutdown: 'clean' });
    const types = (await s3.listAudit()).map((e) => e.type);
    expect(types.filter((t) => t.startsWith('aggregator.'))).toEqual([
      'aggregator.started',
      'aggregator.started',
      'aggregator.stopped',
      'aggregator.started',
    ]);
    await s3.close();
  });

  it('refuses to start on a rewritten audit log, naming the entry', async () => {
    const file = newFile();
    // Entries: 1 update, 2 commit of round 1, 3 update, 4 commit of round 2, …: delete an update.
    await (await federation(file, 3, 1)).close();
    withFile(file, (db) => db.prepare('DELETE FROM audit WHERE seq = 3').run());
    const again = new SqliteStore(file);
    await again.init();
    const err = (await verifyStoredState(again, { version: 'x', now: clock }).catch(
      (e: unknown) => e,
    )) as StoredStateError;
    expect(err).toBeInstanceOf(StoredStateError);
    expect(err.message).toContain(`file ${file}, table audit`);
    expect(err.message).toMatch(/entr(y|ies) 3/);
    await again.close();
  });

  it('starts fast: a store with 1,000 rounds (6,000 audit entries) is checked in well under a few seconds', async () => {
    const file = newFile();
    await (await federation(file, 1_000, 5)).close();
    const t0 = performance.now();
    const again = new SqliteStore(file);
    await again.init();
    const report = await verifyStoredState(again, { version: 'x', now: clock });
    const ms = performance.now() - t0;
    expect(report.audit.entries).toBe(6_000);
    expect(report.storage.checked).toEqual({ pages: true, models: 1_001, rounds: 1_000 });
    console.log(
      `start-up check, 1,000 rounds / 6,000 audit entries / 1,001 models: ${ms.toFixed(0)} ms (init + verifyStoredState)`,
    );
    expect(ms).toBeLessThan(10_000); // generous: a loaded 2-core machine
    await again.close();
  }, 60_000);
});

describe('the database file', () => {
  it('refuses a 0-byte database beside an existing federation (its audit key), naming both', async () => {
    const file = newFile();
    await (await federation(file, 1)).close();
    truncateSync(file, 0);
    rmSync(`${file}-wal`, { force: true });
    const err = await new SqliteStore(file).init().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`database file ${file} is empty (0 bytes)`);
    expect((err as Error).message).toContain('audit-key.pem');
  });

  it('refuses a deleted database beside its audit key', async () => {
    const file = newFile();
    await (await federation(file, 1)).close();
    rmSync(file);
    await expect(new SqliteStore(file).init()).rejects.toThrow(
      /does not exist, but the state of an existing federation/,
    );
  });

  it('refuses a 0-byte database beside local tokens, and accepts one in an empty directory', async () => {
    const file = newFile();
    const dir = path.dirname(file);
    rmSync(dir, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(dir, { recursive: true }));
    writeFileSync(file, '');
    const fresh = new SqliteStore(file);
    await fresh.init(); // nothing beside it: a new federation
    await fresh.close();
    const other = newFile();
    await import('node:fs').then((fs) => fs.mkdirSync(path.dirname(other), { recursive: true }));
    writeFileSync(other, '');
    writeFileSync(path.join(path.dirname(other), 'local-tokens.json'), '{}');
    await expect(new SqliteStore(other, { auditKeyFile: null }).init()).rejects.toThrow(/local-tokens\.json/);
  });

  it('refuses a file that is not a database', async () => {
    const file = newFile();
    await import('node:fs').then((fs) => fs.mkdirSync(path.dirname(file), { recursive: true }));
    writeFileSync(file, 'x'.repeat(8192));
    await expect(new SqliteStore(file, { auditKeyFile: null }).init()).rejects.toThrow(
      new RegExp(`database file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(SQLITE_NOTADB`),
    );
  });

  it('refuses a corrupted root page of the audit table, naming file and table', async () => {
    const file = newFile();
    await (await federation(file, 20, 3)).close();
    const { rootpage, pageSize } = withFile(file, (db) => ({
      rootpage: (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit'").get() as { rootpage: number })
        .rootpage,
      pageSize: db.pragma('page_size', { simple: true }) as number,
    }));
    expect(statSync(file).size).toBeGreaterThan(rootpage * pageSize - 1);
    const fd = openSync(file, 'r+');
    try {
      const page = Buffer.alloc(pageSize);
      readSync(fd, page, 0, pageSize, (rootpage - 1) * pageSize);
      // Keep the page type byte, scramble the cell pointers and cells: a plausible bad sector.
      for (let i = 8; i < pageSize; i += 7) page[i] ^= 0xa5;
      writeSync(fd, page, 0, pageSize, (rootpage - 1) * pageSize);
    } finally {
      closeSync(fd);
    }
    const err = (await new SqliteStore(file).init().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(`database file ${file}`);
    expect(err.message).toContain(`file ${file}, table audit:`);
    expect(err.message).toMatch(/refusing to start/);
    console.log(`corrupted audit root page: ${err.message}`);
  });
});
