/**
 * SQLite schema, as an ordered list of migrations. A database records which ones it
 * has in schema_version; init() applies the missing ones in one transaction, so a
 * crash mid-migration leaves the previous version intact. Never edit a released
 * migration: append a new one.
 */
import type Database from 'better-sqlite3';
import { ACCOUNTS_MIGRATION_SQL } from '@finsecure/accounts';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'banks, settings, rounds, models, audit',
    sql: `
      CREATE TABLE banks (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        token_hash   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER,
        revoked_at   INTEGER
      );
      CREATE INDEX banks_by_created ON banks (created_at, id);

      -- value is JSON (see serialize.ts)
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      -- config, selected, participants, banks, durations and metrics are JSON
      CREATE TABLE rounds (
        id                 INTEGER PRIMARY KEY,
        status             TEXT NOT NULL CHECK (status IN ('selecting', 'training', 'aggregating', 'evaluating', 'committed', 'failed')),
        started_at         INTEGER NOT NULL,
        ended_at           INTEGER,
        config             TEXT NOT NULL,
        selected           TEXT NOT NULL,
        participants       TEXT NOT NULL,
        banks              TEXT NOT NULL,
        durations          TEXT NOT NULL,
        base_model_version INTEGER NOT NULL,
        model_version      INTEGER,
        metrics            TEXT,
        failure_reason     TEXT
      );
      CREATE INDEX rounds_by_status ON rounds (status);

      -- weights: little-endian float32 bytes; spec is JSON
      CREATE TABLE models (
        version    INTEGER PRIMARY KEY,
        round_id   INTEGER REFERENCES rounds (id),
        created_at INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        weights    BLOB NOT NULL,
        spec       TEXT NOT NULL
      );
      CREATE INDEX models_by_round ON models (round_id);

      -- details is canonical JSON, exactly the text that was hashed
      CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        type      TEXT NOT NULL,
        actor     TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      );
    `,
  },
  // Additive: an existing database keeps its data and gains the people tables.
  { version: 2, description: 'accounts, sessions, recovery codes, API tokens', sql: ACCOUNTS_MIGRATION_SQL },
  {
    // Anchors of the audit chain and seals of committed rounds (audit/anchor.ts, store/integrity.ts).
    version: 3,
    description: 'audit head, signed checkpoints, round seals',
    sql: `
      -- the audit entry (round.committed or round.sealed) whose details carry this round's hash
      ALTER TABLE rounds ADD COLUMN audit_seq INTEGER;

      -- one row: the last entry's seq and hash, moved (and re-signed) with every append
      CREATE TABLE audit_head (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        seq       INTEGER NOT NULL,
        hash      TEXT NOT NULL,
        at        INTEGER NOT NULL,
        key_id    TEXT,
        signature TEXT
      );
      INSERT INTO audit_head (id, seq, hash, at) SELECT 1, seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1;

      -- signed heads kept at every commit, start and stop
      CREATE TABLE audit_checkpoints (
        seq       INTEGER PRIMARY KEY,
        hash      TEXT NOT NULL,
        at        INTEGER NOT NULL,
        key_id    TEXT NOT NULL,
        signature TEXT NOT NULL
      );
    `,
  },
  {
    // RoundRecord.stages (round/stage.ts summaries): what the dashboard and the benchmarks read
    // per stage. NULL for rounds stored before, which then read back without `stages`.
    version: 4,
    description: 'stage summaries of rounds',
    sql: `ALTER TABLE rounds ADD COLUMN stages TEXT;`,
  },
  {
    // Analytics jobs (federation/jobs/): segmentation and calibration, outside training rounds.
    version: 5,
    description: 'analytics jobs',
    sql: `
      -- params, stages and result are JSON
      CREATE TABLE jobs (
        id             INTEGER PRIMARY KEY,
        kind           TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        requested_by   TEXT NOT NULL,
        requested_at   INTEGER NOT NULL,
        started_at     INTEGER,
        ended_at       INTEGER,
        params         TEXT NOT NULL,
        stages         TEXT NOT NULL,
        result         TEXT,
        failure_reason TEXT
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
/** The migration that added the audit head, checkpoints and round seals. */
export const ANCHORS_MIGRATION = 3;

/** Brings the database up to SCHEMA_VERSION; returns the versions it applied. */
export function migrate(db: Database.Database, now: number = Date.now()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  INTEGER NOT NULL
  )`);
  // IMMEDIATE takes the write lock before reading the version, so two processes
  // opening the same file cannot both apply the same migration.
  const run = db.transaction((): number[] => {
    const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get() as { v: number };
    if (row.v > SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${row.v} is newer than this aggregator supports (${SCHEMA_VERSION}); upgrade FinSecure`,
      );
    }
    const applied: number[] = [];
    const record = db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= row.v) continue;
      db.exec(m.sql);
      record.run(m.version, m.description, now);
      applied.push(m.version);
    }
    return applied;
  });
  return run.immediate();
}
