/**
 * Opening the SQLite store's file: the start-up checks of sqlite-integrity.ts, the pragmas
 * every connection needs, and the migrations, with each failure turned into an error that
 * names the file and what was being done. Kept apart from the store class, which is left
 * with its lifecycle (instance lock, audit key) and its methods; nothing here goes through
 * the prepared-statement cache, as the store has no connection yet.
 */
import Database from 'better-sqlite3';
import { restrictSqliteFiles } from '@finsecure/accounts/sqlite-files';
import {
  cantOpenError,
  checkDatabaseFile,
  checkSchemaPresent,
  corruptionError,
  isCorruption,
  quickCheck,
} from './sqlite-integrity.js';
import { migrate } from './sqlite-schema.js';

/**
 * Opens `file` (':memory:' when `memory`), refusing an empty file beside an existing
 * federation's state, a file that is not a database and damaged pages; migrates.
 * @param keyFile the audit signing key the store uses (null: none).
 * @returns the connection and the migrations applied (the caller closes it on a later failure).
 */
export function openDatabase(
  file: string,
  memory: boolean,
  keyFile: string | null,
  busyTimeoutMs: number,
): { db: Database.Database; applied: number[] } {
  if (!memory) {
    checkDatabaseFile(file, keyFile);
    restrictSqliteFiles(file);
  }
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (err) {
    throw cantOpenError(file, err);
  }
  let doing = 'opening it';
  let applied: number[] = [];
  try {
    // WAL: readers (API requests) never block the writer (a committing round).
    db.pragma('journal_mode = WAL');
    // FULL: a round reported committed survives a power cut, not just a crash.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    doing = 'checking its pages';
    const problems = memory ? [] : quickCheck(db, file);
    if (problems.length)
      throw new Error(`database file ${file} is damaged; refusing to start:\n  ${problems.join('\n  ')}`);
    // A database without tables beside an existing federation's state lost its WAL (or was replaced).
    if (!memory) checkSchemaPresent(db, file, keyFile);
    doing = 'migrating it';
    applied = migrate(db);
    // The WAL and its index exist by now (the migration wrote); from an older version they may be 0644.
    if (!memory) restrictSqliteFiles(file);
  } catch (err) {
    db.close();
    if (isCorruption(err)) throw corruptionError(file, err as { code: string; message: string }, doing);
    throw cantOpenError(file, err);
  }
  return { db, applied };
}
