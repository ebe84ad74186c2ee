/**
 * Rounds and models rows of the SQLite store, and their seals: every read of a model is
 * checked against its sha256 and every read of a sealed round against the hash its audit
 * entry recorded (store/integrity.ts); a sealed round is never overwritten. Write methods
 * must run inside the caller's transaction.
 */
import type Database from 'better-sqlite3';
import {
  checkModel,
  checkRound,
  DamagedDataError,
  describeWhere,
  roundParamsHash,
  roundRecordHash,
  sealedModelProblem,
} from './integrity.js';
import type { SqliteAudit } from './sqlite-audit.js';
import { modelParams, roundParams, toModel, toRound, type ModelRow, type RoundRow } from './sqlite-rows.js';
import {
  StoreConflictError,
  type AuditEntry,
  type AuditInput,
  type ModelVersionRecord,
  type RoundRecord,
} from './types.js';

/** Sealed rows carry the seq of the audit entry holding their hash. */
export type SealedRoundRow = RoundRow & { audit_seq: number | null };

export class SqliteRecords {
  constructor(
    private readonly stmt: (sql: string) => Database.Statement,
    private readonly audit: SqliteAudit,
    private readonly file: string,
  ) {}

  /** A model, checked against its sha256 (DamagedDataError names the row). */
  readModel(row: ModelRow): ModelVersionRecord {
    return checkModel(toModel(row), { file: this.file, table: 'models' });
  }

  /** A round; a sealed one is checked against the hash its audit entry recorded. */
  readRound(row: SealedRoundRow): RoundRecord {
    let r: RoundRecord;
    try {
      r = toRound(row);
    } catch (err) {
      // Start-up, the API and `audit verify` name the file, table, row and column, not just JSON's complaint.
      const where = { file: this.file, table: 'rounds', row: `id ${row.id}` };
      throw new DamagedDataError(`${describeWhere(where)}: ${(err as Error).message}`, where);
    }
    if (row.audit_seq === null || row.audit_seq === undefined) return r;
    return checkRound(r, this.audit.entry(row.audit_seq), row.audit_seq, { file: this.file, table: 'rounds' });
  }

  /**
   * A sealed round (see SqliteRoundWrites.commitRoundAudited) is never overwritten.
   * @returns the column values written (roundParams), for `seal` in the same transaction.
   */
  upsertRound(r: RoundRecord): Record<string, unknown> {
    const sealed = this.stmt('SELECT audit_seq FROM rounds WHERE id = ?').get(r.id) as
      { audit_seq: number | null } | undefined;
    if (sealed?.audit_seq != null)
      throw new StoreConflictError(
        `round ${r.id} is committed and sealed by audit entry ${sealed.audit_seq}; it cannot be overwritten`,
      );
    const params = roundParams(r);
    this.stmt(
      `INSERT INTO rounds (id, status, started_at, ended_at, config, selected, participants, banks, durations, stages, base_model_version, model_version, metrics, failure_reason)
       VALUES (@id, @status, @startedAt, @endedAt, @config, @selected, @participants, @banks, @durations, @stages, @baseModelVersion, @modelVersion, @metrics, @failureReason)
       ON CONFLICT (id) DO UPDATE SET
         status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
         config = excluded.config, selected = excluded.selected, participants = excluded.participants,
         banks = excluded.banks, durations = excluded.durations, stages = excluded.stages, base_model_version = excluded.base_model_version,
         model_version = excluded.model_version, metrics = excluded.metrics, failure_reason = excluded.failure_reason`,
    ).run({ stages: null, ...params });
    return params;
  }

  /**
   * The model of a committed round is never replaced: the round's seal (its audit entry) names
   * its sha256, and a rollback stores a new version instead.
   * @throws StoreConflictError when version `m.version` exists and belongs to a committed round.
   */
  guardModel(m: ModelVersionRecord): void {
    const row = this.stmt(
      `SELECT m.round_id AS roundId, r.audit_seq AS auditSeq FROM models m
       JOIN rounds r ON r.id = m.round_id AND r.status = 'committed' WHERE m.version = ?`,
    ).get(m.version) as { roundId: number; auditSeq: number | null } | undefined;
    if (row)
      throw new StoreConflictError(
        `model version ${m.version} is the model of committed round ${row.roundId}` +
          `${row.auditSeq !== null ? ` (sealed by audit entry ${row.auditSeq})` : ''}; it cannot be overwritten`,
      );
  }

  /** @param guard false only when the caller ran guardModel earlier in this transaction. */
  upsertModel(m: ModelVersionRecord, guard = true): void {
    if (guard) this.guardModel(m);
    this.stmt(
      `INSERT INTO models (version, round_id, created_at, sha256, weights, spec)
       VALUES (@version, @roundId, @createdAt, @sha256, @weights, @spec)
       ON CONFLICT (version) DO UPDATE SET
         round_id = excluded.round_id, created_at = excluded.created_at, sha256 = excluded.sha256,
         weights = excluded.weights, spec = excluded.spec`,
    ).run(modelParams(m));
  }

  /**
   * Appends `audit` with the round's hash added and points the round at it.
   * @param written the column values `upsertRound` wrote in this same transaction, if it did: the
   *   hash is then taken from them. They are what the row holds (SQLite stores the bound text and
   *   numbers as they are, and JSON text → fromJson → toJson gives the same text back), so it is
   *   the hash a re-read gives, which every later read checks; the contract tests hold both to it.
   *   Without them (sealing a round stored earlier) the row is read back.
   */
  seal(roundId: number, audit: AuditInput, expectUnsealed: boolean, written?: Record<string, unknown>): AuditEntry {
    const row = this.stmt(
      written ? 'SELECT id, status, audit_seq FROM rounds WHERE id = ?' : 'SELECT * FROM rounds WHERE id = ?',
    ).get(roundId) as SealedRoundRow | undefined;
    if (!row || row.status !== 'committed') throw new Error(`sealRound: round ${roundId} is not committed`);
    if (expectUnsealed && row.audit_seq !== null)
      throw new Error(`sealRound: round ${roundId} is already sealed by audit entry ${row.audit_seq}`);
    const roundHash = written ? roundParamsHash(written) : roundRecordHash(toRound(row));
    const entry = this.audit.append({
      ...audit,
      details: { ...audit.details, roundId, roundHash },
    });
    this.stmt('UPDATE rounds SET audit_seq = ? WHERE id = ?').run(entry.seq, roundId);
    return entry;
  }

  unsealed(): number[] {
    const rows = this.stmt(`SELECT id FROM rounds WHERE status = 'committed' AND audit_seq IS NULL ORDER BY id`).all();
    return (rows as { id: number }[]).map((r) => r.id);
  }

  /** Checks every model and every sealed round; pushes one message per damaged row. */
  check(problems: string[]): { models: number; rounds: number } {
    let models = 0;
    let rounds = 0;
    for (const row of this.stmt('SELECT * FROM models ORDER BY version').iterate() as IterableIterator<ModelRow>) {
      models++;
      try {
        this.readModel(row);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    // all(), not iterate(): readRound runs another statement per row.
    const sealed = this.stmt('SELECT * FROM rounds WHERE audit_seq IS NOT NULL ORDER BY id').all() as SealedRoundRow[];
    const modelSha = this.stmt('SELECT sha256 FROM models WHERE version = ?');
    for (const row of sealed) {
      rounds++;
      try {
        this.readRound(row);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      const stored = modelSha.get(row.model_version) as { sha256: string } | undefined;
      const problem = sealedModelProblem(
        row.id,
        row.model_version,
        row.audit_seq!,
        this.audit.entry(row.audit_seq!),
        stored?.sha256,
      );
      if (problem) problems.push(`file ${this.file}, table models, ${problem}`);
    }
    return { models, rounds };
  }
}
