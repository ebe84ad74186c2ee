/**
 * Picks the store from configuration: MongoDB when a URI is given, else SQLite.
 * The MongoDB driver is imported only when it is used, so a single-machine aggregator
 * never loads it. The returned store still needs init().
 */
import path from 'node:path';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export const DEFAULT_SQLITE_PATH = path.join('data', 'finsecure.db');

export interface CreateStoreOptions {
  mongodbUri?: string | undefined;
  /** SQLite database file, or ':memory:'. Default ./data/finsecure.db. */
  sqlitePath?: string | undefined;
  /** MongoDB database name. Default "finsecure". */
  dbName?: string | undefined;
  /**
   * Ed25519 key signing the audit head and checkpoints (audit/signer.ts), created on first
   * start with mode 0600. Default for SQLite: `audit-key.pem` beside the database; MongoDB
   * needs it given (the aggregator passes `<data-dir>/audit-key.pem`), else heads are unsigned.
   */
  auditKeyFile?: string | undefined;
  /**
   * SQLite: take the instance lock (store/instance-lock.ts; default true). False for CLI commands
   * that work beside a running aggregator. MongoDB has no lock (see mongo.ts).
   */
  instanceLock?: boolean;
  /** Told of what opening the store did that an operator should know (a stale lock taken over). */
  log?: (message: string) => void;
}

export async function createStore(opts: CreateStoreOptions = {}): Promise<Store> {
  if (opts.mongodbUri) {
    const { MongoStore } = await import('./mongo.js');
    return new MongoStore(opts.mongodbUri, opts.dbName, opts.auditKeyFile ?? null);
  }
  return new SqliteStore(opts.sqlitePath ?? DEFAULT_SQLITE_PATH, {
    ...(opts.auditKeyFile ? { auditKeyFile: opts.auditKeyFile } : {}),
    ...(opts.instanceLock !== undefined ? { instanceLock: opts.instanceLock } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
}

export { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
export type { MongoStore } from './mongo.js';
export * from './types.js';
export { DamagedDataError, roundRecordHash } from './integrity.js';
