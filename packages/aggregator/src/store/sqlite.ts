/**
 * SQLite store for a single machine (the default). better-sqlite3 is synchronous; the
 * methods are async only to satisfy the Store interface, and every throw becomes a
 * rejection. Because calls never interleave inside one process, a transaction is
 * enough to serialise writers; IMMEDIATE transactions and the busy timeout cover a
 * second process (a CLI inspecting the file) holding the lock.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDirWarning } from '@finsecure/common/config';
import {
  AUDIT_KEY_FILE,
  loadAuditKey,
  type AuditSigner,
  type AuditVerifierKey,
  type SignedHead,
} from '../audit/signer.js';
import { toAudit, type AuditRow } from './sqlite-rows.js';
import { SqliteAudit } from './sqlite-audit.js';
import { SqliteBanks } from './sqlite-banks.js';
import { AUDIT_BATCH_WINDOW_MS, AuditGroupCommit } from './sqlite-audit-batch.js';
import { SqliteJobs } from './sqlite-jobs.js';
import { SqliteRecords } from './sqlite-records.js';
import { SqliteRoundReads } from './sqlite-round-reads.js';
import { SqliteRoundWrites } from './sqlite-round-writes.js';
import { quickCheck } from './sqlite-integrity.js';
import { openDatabase } from './sqlite-open.js';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.js';
import { SqliteAccountStore } from '@finsecure/accounts';
import { ANCHORS_MIGRATION } from './sqlite-schema.js';
import { fromJson, toJson } from './serialize.js';
import { DamagedDataError, describeWhere } from './integrity.js';
import { checkedInput } from '../audit/chain.js';
import type {
  AuditEntry,
  AuditInput,
  AuditVerification,
  BankRecord,
  JobRecord,
  ModelVersionRecord,
  RoundRecord,
  StorageReport,
  Store,
  VerifyAuditOptions,
} from './types.js';
import { checkBound, checkLimit } from './validate.js';

const SET_SETTING =
  'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

export interface SqliteStoreOptions {
  /** How long to wait for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  /**
   * The Ed25519 key that signs the audit head and checkpoints (audit/signer.ts). Default:
   * `audit-key.pem` beside the database file; null: no key (heads stay unsigned; the
   * default for ':memory:').
   */
  auditKeyFile?: string | null;
  /** Create the key when it does not exist (default true; `audit verify` passes false). */
  createAuditKey?: boolean;
  /** Public key to verify signatures with when the store has no signing key (`audit verify`). */
  verifyKey?: AuditVerifierKey;
  /** How long an audit append waits for others to share its commit, ms (default AUDIT_BATCH_WINDOW_MS). */
  auditBatchWindowMs?: number;
  /**
   * Take the instance lock `<file>.lock` at init (store/instance-lock.ts): one aggregator per
   * database. Default true for a file; ':memory:' never locks. The CLI commands that work beside
   * a running aggregator (`audit verify`, `users`) pass false.
   */
  instanceLock?: boolean;
  /** Told of what init did that an operator should know (a stale instance lock taken over). */
  log?: (message: string) => void;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly accounts = new SqliteAccountStore(() => this.db);
  private conn: Database.Database | null = null;
  private lock: InstanceLock | null = null;
  private readonly statements = new Map<string, Database.Statement>();
  private signer: AuditSigner | null = null;
  private readonly audit = new SqliteAudit(
    (sql) => this.stmt(sql),
    () => this.signer,
    () => this.signer ?? this.options.verifyKey ?? null,
  );
  /** Audit appends waiting for the end of their batch window (see appendAudit). */
  private readonly auditBatch: AuditGroupCommit;
  private readonly records: SqliteRecords;
  /** Round and model writes, each one transaction with its audit entries (sqlite-round-writes.ts). */
  private readonly writes: SqliteRoundWrites;
  /** Round and model reads, each row checked against its seal (sqlite-round-reads.ts). */
  private readonly reads: SqliteRoundReads;
  private readonly jobs = new SqliteJobs((sql) => this.stmt(sql));
  private readonly banks = new SqliteBanks((sql) => this.stmt(sql));
  /** The key file in use, or null (see SqliteStoreOptions.auditKeyFile). */
  readonly auditKeyFile: string | null;

  /** @param file a database file (parent directories are created) or ':memory:'. */
  constructor(
    readonly file: string,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.auditKeyFile =
      options.auditKeyFile !== undefined
        ? options.auditKeyFile
        : file === ':memory:'
          ? null
          : path.join(path.dirname(file), AUDIT_KEY_FILE);
    this.records = new SqliteRecords((sql) => this.stmt(sql), this.audit, file);
    this.writes = new SqliteRoundWrites(
      (sql) => this.stmt(sql),
      (fn) => this.db.transaction(fn).immediate(),
      this.records,
      this.audit,
    );
    this.reads = new SqliteRoundReads((sql) => this.stmt(sql), this.records);
    this.auditBatch = new AuditGroupCommit(
      () => this.conn,
      this.audit,
      options.auditBatchWindowMs ?? AUDIT_BATCH_WINDOW_MS,
    );
  }

  /**
   * Opens the file, refusing (with an error naming the file, table and page) an empty file
   * beside an existing federation's state, a file that is not a database, and damaged
   * pages (quick_check); migrates; loads or creates the audit key.
   */
  async init(): Promise<void> {
    if (this.conn) return;
    const memory = this.file === ':memory:';
    if (!memory) {
      // Owner only, as the audit key beside it: the database holds password hashes and TOTP secrets.
      const dir = path.dirname(path.resolve(this.file));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const open = openDirWarning(dir); // the database holds password hashes and TOTP secrets
      if (open) this.options.log?.(open.message);
      if (this.options.instanceLock ?? true) this.lock = acquireInstanceLock(this.file, this.options.log);
    }
    try {
      await this.open(memory);
    } catch (err) {
      this.lock?.release();
      this.lock = null;
      throw err;
    }
  }

  private async open(memory: boolean): Promise<void> {
    const { db, applied } = openDatabase(this.file, memory, this.auditKeyFile, this.options.busyTimeoutMs ?? 5_000);
    this.conn = db;
    try {
      if (this.auditKeyFile) {
        if (!existsSync(this.auditKeyFile)) this.refuseMissingKey(this.auditKeyFile);
        this.signer = loadAuditKey(this.auditKeyFile, { create: this.options.createAuditKey ?? true });
      }
      // A log from before anchoring gets its head signed once, when the anchors are added.
      if (applied.includes(ANCHORS_MIGRATION)) this.db.transaction(() => this.audit.signMigratedHead()).immediate();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * A key is created only for an empty audit log: a log already signed by a key that is now
   * missing would otherwise be re-signed with a new one (and its public half overwritten).
   */
  private refuseMissingKey(keyFile: string): void {
    const head = this.audit.head();
    const entries = (this.stmt('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
    if (!head && entries === 0) return;
    throw new Error(
      `audit key ${keyFile} is missing; the log is signed by key ${head?.keyId ?? '(unsigned head)'} ` +
        `(${entries} entries); restore it from your backup of the data directory. A new key is created only for an ` +
        'empty audit log; to start a new federation, use a new data directory.',
    );
  }

  async close(): Promise<void> {
    this.auditBatch.close();
    this.statements.clear();
    this.conn?.close();
    this.conn = null;
    this.signer = null;
    this.lock?.release();
    this.lock = null;
  }

  // ------------------------------------------------------------------ banks

  async createBank(bank: BankRecord): Promise<void> {
    this.banks.create(bank);
  }

  async getBank(id: string): Promise<BankRecord | null> {
    return this.banks.get(id);
  }

  async listBanks(): Promise<BankRecord[]> {
    return this.banks.list();
  }

  async touchBank(id: string, at: number): Promise<void> {
    this.banks.touch(id, at);
  }

  async revokeBank(id: string, at: number): Promise<boolean> {
    return this.banks.revoke(id, at);
  }

  async setBankToken(id: string, tokenHash: string): Promise<boolean> {
    return this.banks.setToken(id, tokenHash);
  }

  // ------------------------------------------------------------------ settings

  async getSetting<T>(key: string): Promise<T | null> {
    const row = this.stmt('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    if (!row) return null;
    try {
      return fromJson<T>(row.value);
    } catch (err) {
      const where = { file: this.file, table: 'settings', row: `key ${key}` };
      throw new DamagedDataError(`${describeWhere(where)}: not JSON (${(err as Error).message})`, where);
    }
  }

  async setSetting<T>(key: string, value: T): Promise<void> {
    this.stmt(SET_SETTING).run(key, toJson(value));
  }

  async setSettingsAudited(
    settings: Readonly<Record<string, unknown>>,
    audits: readonly AuditInput[],
  ): Promise<AuditEntry[]> {
    if (audits.length === 0) throw new RangeError('setSettingsAudited needs at least one audit entry');
    const inputs = audits.map(checkedInput);
    return this.db
      .transaction((): AuditEntry[] => {
        for (const [key, value] of Object.entries(settings)) this.stmt(SET_SETTING).run(key, toJson(value));
        return this.audit.appendMany(inputs);
      })
      .immediate();
  }

  // ------------------------------------------------------------------ rounds

  async saveRound(round: RoundRecord): Promise<void> {
    this.writes.saveRound(round);
  }

  async saveRoundAudited(round: RoundRecord, audit: AuditInput): Promise<AuditEntry> {
    return this.writes.saveRoundAudited(round, audit);
  }

  async getRound(id: number): Promise<RoundRecord | null> {
    return this.reads.getRound(id);
  }

  async listRounds(opts: { limit?: number; before?: number } = {}): Promise<RoundRecord[]> {
    return this.reads.listRounds(opts);
  }

  async listRoundsAscending(opts: { limit?: number; after?: number } = {}): Promise<RoundRecord[]> {
    return this.reads.listRoundsAscending(opts);
  }

  async maxRoundId(): Promise<number> {
    return this.reads.maxRoundId();
  }

  async failUnfinishedRounds(reason: string, at: number): Promise<number[]> {
    return this.writes.failUnfinishedRounds(reason, at);
  }

  async failUnfinishedRoundsAudited(reason: string, at: number): Promise<{ ids: number[]; entries: AuditEntry[] }> {
    return this.writes.failUnfinishedRoundsAudited(reason, at);
  }

  // ------------------------------------------------------------------ models

  async commitRound(round: RoundRecord, model: ModelVersionRecord): Promise<void> {
    this.writes.commitRound(round, model);
  }

  async commitRoundAudited(round: RoundRecord, model: ModelVersionRecord, audit: AuditInput): Promise<AuditEntry> {
    return this.writes.commitRoundAudited(round, model, audit);
  }

  async saveModelAudited(model: ModelVersionRecord, audit: AuditInput): Promise<AuditEntry> {
    return this.writes.saveModelAudited(model, audit);
  }

  async saveModel(model: ModelVersionRecord): Promise<void> {
    this.writes.saveModel(model);
  }

  async getModel(version: number): Promise<ModelVersionRecord | null> {
    return this.reads.getModel(version);
  }

  async latestModel(): Promise<ModelVersionRecord | null> {
    return this.reads.latestModel();
  }

  // ------------------------------------------------------------------ audit

  /**
   * Appends an entry; the appends of one event-loop turn share one transaction and one head
   * signature, and `deferred` ones (whose caller does not wait) those of up to AUDIT_BATCH_WINDOW_MS (1 s)
   * (sqlite-audit-batch.ts). Resolves once the entry is stored.
   */
  appendAudit(input: AuditInput, opts: { deferred?: boolean } = {}): Promise<AuditEntry> {
    return this.auditBatch.append(input, opts.deferred ?? false);
  }

  async listAudit(opts: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const afterSeq = checkBound('afterSeq', opts.afterSeq) ?? 0;
    const limit = checkLimit(opts.limit) ?? -1;
    const rows = this.stmt('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as AuditRow[];
    return rows.map(toAudit);
  }

  async verifyAudit(opts: VerifyAuditOptions = {}): Promise<AuditVerification> {
    return this.audit.verify(opts);
  }

  async auditHead(): Promise<SignedHead | null> {
    return this.audit.head();
  }

  async checkpointAudit(at: number): Promise<SignedHead | null> {
    return this.db.transaction(() => this.audit.checkpoint(at)).immediate();
  }

  async resignLegacyCheckpoints(): Promise<number> {
    return this.db.transaction(() => this.audit.resignLegacyCheckpoints()).immediate();
  }

  async listCheckpoints(): Promise<SignedHead[]> {
    return this.audit.checkpoints();
  }

  async unsealedRounds(): Promise<number[]> {
    return this.records.unsealed();
  }

  async sealRound(roundId: number, audit: AuditInput): Promise<AuditEntry> {
    return this.writes.sealRound(roundId, audit);
  }

  async checkStorage(): Promise<StorageReport> {
    const problems = this.file === ':memory:' ? [] : quickCheck(this.db, this.file);
    const { models, rounds } = this.records.check(problems);
    return { ok: problems.length === 0, problems, checked: { pages: this.file !== ':memory:', models, rounds } };
  }

  // ------------------------------------------------------------------ analytics jobs

  async saveJob(job: JobRecord): Promise<void> {
    this.jobs.save(job);
  }

  async getJob(id: number): Promise<JobRecord | null> {
    return this.jobs.get(id);
  }

  async listJobs(opts: { limit?: number; before?: number } = {}): Promise<JobRecord[]> {
    return this.jobs.list(opts);
  }

  // ------------------------------------------------------------------ internals

  /** The connection, after writing the audit appends waiting (every use then sees them). */
  private get db(): Database.Database {
    if (!this.conn) throw new Error('SqliteStore is not open: call init() first');
    this.auditBatch.flush();
    return this.conn;
  }

  /** Prepared statements are compiled once per connection. Writes the audit appends waiting first. */
  private stmt(sql: string): Database.Statement {
    this.auditBatch.flush();
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
