/**
 * SQLite store for a single machine (the default). better-sqlite3 is synchronous; the
 * methods are async only to satisfy the Store interface, and every throw becomes a
 * rejection. Because calls never interleave inside one process, a transaction is
 * enough to serialise writers; IMMEDIATE transactions and the busy timeout cover a
 * second process (a CLI inspecting the file) holding the lock.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ChainVerifier, nextEntry } from '../audit/chain.js';
import {
  auditParams,
  bankParams,
  modelParams,
  roundParams,
  toAudit,
  toBank,
  toModel,
  toRound,
  type AuditRow,
  type BankRow,
  type ModelRow,
  type RoundRow,
} from './sqlite-rows.js';
import { SqliteAccountStore } from './sqlite-accounts.js';
import { migrate } from './sqlite-schema.js';
import { fromJson, toJson } from './serialize.js';
import {
  StoreConflictError,
  type AuditEntry,
  type AuditInput,
  type AuditVerification,
  type BankRecord,
  type ModelVersionRecord,
  type RoundRecord,
  type Store,
} from './types.js';
import { checkBound, checkCommit, checkLimit } from './validate.js';

export interface SqliteStoreOptions {
  /** How long to wait for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
}

const UNFINISHED = "status NOT IN ('committed', 'failed')";

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly accounts = new SqliteAccountStore(() => this.db);
  private conn: Database.Database | null = null;
  private readonly statements = new Map<string, Database.Statement>();

  /** @param file a database file (parent directories are created) or ':memory:'. */
  constructor(
    readonly file: string,
    private readonly options: SqliteStoreOptions = {},
  ) {}

  async init(): Promise<void> {
    if (this.conn) return;
    if (this.file !== ':memory:') mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    const db = new Database(this.file, { timeout: this.options.busyTimeoutMs ?? 5_000 });
    try {
      // WAL: readers (API requests) never block the writer (a committing round).
      db.pragma('journal_mode = WAL');
      // FULL: a round reported committed survives a power cut, not just a crash.
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.conn = db;
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.conn?.close();
    this.conn = null;
  }

  // ------------------------------------------------------------------ banks

  async createBank(bank: BankRecord): Promise<void> {
    try {
      this.stmt(
        `INSERT INTO banks (id, name, token_hash, created_at, last_seen_at, revoked_at)
         VALUES (@id, @name, @tokenHash, @createdAt, @lastSeenAt, @revokedAt)`,
      ).run(bankParams(bank));
    } catch (err) {
      if (isSqliteError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY'))
        throw new StoreConflictError(`bank ${bank.id} already exists`);
      throw err;
    }
  }

  async getBank(id: string): Promise<BankRecord | null> {
    const row = this.stmt('SELECT * FROM banks WHERE id = ?').get(id) as BankRow | undefined;
    return row ? toBank(row) : null;
  }

  async listBanks(): Promise<BankRecord[]> {
    return (this.stmt('SELECT * FROM banks ORDER BY created_at, id').all() as BankRow[]).map(toBank);
  }

  async touchBank(id: string, at: number): Promise<void> {
    this.stmt('UPDATE banks SET last_seen_at = ? WHERE id = ?').run(at, id);
  }

  async revokeBank(id: string, at: number): Promise<boolean> {
    // Revoking twice keeps the first revocation time.
    return this.stmt('UPDATE banks SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(at, id).changes > 0;
  }

  async setBankToken(id: string, tokenHash: string): Promise<boolean> {
    return this.stmt('UPDATE banks SET token_hash = ?, revoked_at = NULL WHERE id = ?').run(tokenHash, id).changes > 0;
  }

  // ------------------------------------------------------------------ settings

  async getSetting<T>(key: string): Promise<T | null> {
    const row = this.stmt('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? fromJson<T>(row.value) : null;
  }

  async setSetting<T>(key: string, value: T): Promise<void> {
    this.stmt(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, toJson(value));
  }

  // ------------------------------------------------------------------ rounds

  async saveRound(round: RoundRecord): Promise<void> {
    this.upsertRound(round);
  }

  async getRound(id: number): Promise<RoundRecord | null> {
    const row = this.stmt('SELECT * FROM rounds WHERE id = ?').get(id) as RoundRow | undefined;
    return row ? toRound(row) : null;
  }

  async listRounds(opts: { limit?: number; before?: number } = {}): Promise<RoundRecord[]> {
    const before = checkBound('before', opts.before);
    const limit = checkLimit(opts.limit) ?? -1; // SQLite: a negative LIMIT means none
    const where = before === undefined ? '' : 'WHERE id < @before';
    const rows = this.stmt(`SELECT * FROM rounds ${where} ORDER BY id DESC LIMIT @limit`).all({
      limit,
      ...(before === undefined ? {} : { before }),
    });
    return (rows as RoundRow[]).map(toRound);
  }

  async listRoundsAscending(opts: { limit?: number; after?: number } = {}): Promise<RoundRecord[]> {
    const after = checkBound('after', opts.after);
    const limit = checkLimit(opts.limit) ?? -1;
    const where = after === undefined ? '' : 'WHERE id > @after';
    const rows = this.stmt(`SELECT * FROM rounds ${where} ORDER BY id ASC LIMIT @limit`).all({
      limit,
      ...(after === undefined ? {} : { after }),
    });
    return (rows as RoundRow[]).map(toRound);
  }

  async maxRoundId(): Promise<number> {
    return (this.stmt('SELECT COALESCE(MAX(id), 0) AS id FROM rounds').get() as { id: number }).id;
  }

  async failUnfinishedRounds(reason: string, at: number): Promise<number[]> {
    const tx = this.db.transaction((): number[] => {
      const ids = (this.stmt(`SELECT id FROM rounds WHERE ${UNFINISHED} ORDER BY id`).all() as { id: number }[]).map(
        (r) => r.id,
      );
      this.stmt(
        `UPDATE rounds SET status = 'failed', failure_reason = ?, ended_at = COALESCE(ended_at, ?) WHERE ${UNFINISHED}`,
      ).run(reason, at);
      return ids;
    });
    return tx.immediate();
  }

  // ------------------------------------------------------------------ models

  async commitRound(round: RoundRecord, model: ModelVersionRecord): Promise<void> {
    checkCommit(round, model);
    // One transaction: either both rows exist afterwards or neither changed. The round
    // goes first only because the model's foreign key points at it.
    this.db
      .transaction(() => {
        this.upsertRound(round);
        this.upsertModel(model);
      })
      .immediate();
  }

  async saveModel(model: ModelVersionRecord): Promise<void> {
    this.upsertModel(model);
  }

  async getModel(version: number): Promise<ModelVersionRecord | null> {
    const row = this.stmt('SELECT * FROM models WHERE version = ?').get(version) as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  async latestModel(): Promise<ModelVersionRecord | null> {
    // Same rule as the MongoDB store: a model whose round is not committed is left
    // over from an interrupted commit and is not the global model.
    const row = this.stmt(
      `SELECT m.* FROM models m LEFT JOIN rounds r ON r.id = m.round_id
       WHERE m.round_id IS NULL OR r.status = 'committed'
       ORDER BY m.version DESC LIMIT 1`,
    ).get() as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  // ------------------------------------------------------------------ audit

  async appendAudit(input: AuditInput): Promise<AuditEntry> {
    const tx = this.db.transaction((): AuditEntry => {
      const head = this.stmt('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
        { seq: number; hash: string } | undefined;
      const entry = nextEntry(head ?? null, input);
      this.stmt(
        `INSERT INTO audit (seq, at, type, actor, details, prev_hash, hash)
         VALUES (@seq, @at, @type, @actor, @details, @prevHash, @hash)`,
      ).run(auditParams(entry));
      return entry;
    });
    return tx.immediate();
  }

  async listAudit(opts: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const afterSeq = checkBound('afterSeq', opts.afterSeq) ?? 0;
    const limit = checkLimit(opts.limit) ?? -1;
    const rows = this.stmt('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as AuditRow[];
    return rows.map(toAudit);
  }

  async verifyAudit(): Promise<AuditVerification> {
    const verifier = new ChainVerifier();
    // Streamed row by row: the log grows without bound.
    for (const row of this.stmt('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      let entry: AuditEntry;
      try {
        entry = toAudit(row);
      } catch (err) {
        verifier.unreadable(row.seq, (err as Error).message);
        continue;
      }
      verifier.push(entry);
    }
    return verifier.result();
  }

  // ------------------------------------------------------------------ internals

  private get db(): Database.Database {
    if (!this.conn) throw new Error('SqliteStore is not open: call init() first');
    return this.conn;
  }

  /** Prepared statements are compiled once per connection. */
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private upsertRound(r: RoundRecord): void {
    this.stmt(
      `INSERT INTO rounds (id, status, started_at, ended_at, config, selected, participants, banks, durations, base_model_version, model_version, metrics, failure_reason)
       VALUES (@id, @status, @startedAt, @endedAt, @config, @selected, @participants, @banks, @durations, @baseModelVersion, @modelVersion, @metrics, @failureReason)
       ON CONFLICT (id) DO UPDATE SET
         status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
         config = excluded.config, selected = excluded.selected, participants = excluded.participants,
         banks = excluded.banks, durations = excluded.durations, base_model_version = excluded.base_model_version,
         model_version = excluded.model_version, metrics = excluded.metrics, failure_reason = excluded.failure_reason`,
    ).run(roundParams(r));
  }

  private upsertModel(m: ModelVersionRecord): void {
    this.stmt(
      `INSERT INTO models (version, round_id, created_at, sha256, weights, spec)
       VALUES (@version, @roundId, @createdAt, @sha256, @weights, @spec)
       ON CONFLICT (version) DO UPDATE SET
         round_id = excluded.round_id, created_at = excluded.created_at, sha256 = excluded.sha256,
         weights = excluded.weights, spec = excluded.spec`,
    ).run(modelParams(m));
  }
}

function isSqliteError(err: unknown, code: string): boolean {
  return err instanceof Database.SqliteError && err.code === code;
}
