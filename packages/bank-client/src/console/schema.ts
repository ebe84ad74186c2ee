/**
 * The console database's schema, as numbered migrations (db.ts applies the ones a database has
 * not seen, in order, each in a transaction). Version 1 is the accounts package's tables.
 * A migration, once released, never changes: a change is a new version.
 */
import { ACCOUNTS_MIGRATION_SQL } from '@finsecure/accounts';

export const SCHEMA: { version: number; sql: string }[] = [
  { version: 1, sql: ACCOUNTS_MIGRATION_SQL },
  {
    version: 2,
    sql: `
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL,
        details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
      );
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE uploads (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, rows INTEGER NOT NULL, flagged INTEGER NOT NULL,
        model_version INTEGER NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL
      );
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        upload_id INTEGER REFERENCES uploads (id),
        source TEXT NOT NULL,
        line INTEGER,
        transaction_id TEXT NOT NULL,
        account_id TEXT,
        tx_time TEXT,
        amount REAL,
        feature_names TEXT NOT NULL,
        features BLOB NOT NULL,
        logit REAL NOT NULL,
        probability REAL NOT NULL,
        model_version INTEGER NOT NULL,
        reasons TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        created_at INTEGER NOT NULL
      );
      CREATE INDEX alerts_by_score ON alerts (logit DESC);
      CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        decision TEXT NOT NULL,
        note TEXT NOT NULL,
        analyst TEXT NOT NULL,
        analyst_id TEXT,
        at INTEGER NOT NULL,
        audit_seq INTEGER NOT NULL
      );
      CREATE INDEX decisions_by_alert ON decisions (alert_id, at);
    `,
  },
];
