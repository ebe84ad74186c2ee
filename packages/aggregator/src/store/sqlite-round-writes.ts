/**
 * The SQLite store's writes of rounds and models, and what each one puts in a single
 * IMMEDIATE transaction: an audited write stores its audit entries (and the head they move)
 * with the rows, a commit its round and model together, so either all of it is stored or
 * none. The rows themselves, their seals and the committed-model guard are sqlite-records.ts.
 * `stmt` and `immediate` are the store's (they write waiting audit appends first).
 */
import type Database from 'better-sqlite3';
import { checkedInput } from '../audit/chain.js';
import type { SqliteAudit } from './sqlite-audit.js';
import type { SqliteRecords } from './sqlite-records.js';
import type { AuditEntry, AuditInput, ModelVersionRecord, RoundRecord } from './types.js';
import { checkCommit } from './validate.js';

const UNFINISHED = "status NOT IN ('committed', 'failed')";

export class SqliteRoundWrites {
  constructor(
    private readonly stmt: (sql: string) => Database.Statement,
    /** Runs `fn` in one IMMEDIATE transaction. */
    private readonly immediate: <T>(fn: () => T) => T,
    private readonly records: SqliteRecords,
    private readonly audit: SqliteAudit,
  ) {}

  saveRound(round: RoundRecord): void {
    this.immediate(() => this.records.upsertRound(round));
  }

  saveRoundAudited(round: RoundRecord, audit: AuditInput): AuditEntry {
    const input = checkedInput(audit);
    return this.immediate((): AuditEntry => {
      this.records.upsertRound(round);
      return this.audit.appendMany([input])[0]!;
    });
  }

  failUnfinishedRounds(reason: string, at: number): number[] {
    return this.immediate((): number[] => this.failUnfinished(reason, at));
  }

  /** Inside the caller's transaction. */
  private failUnfinished(reason: string, at: number): number[] {
    const ids = (this.stmt(`SELECT id FROM rounds WHERE ${UNFINISHED} ORDER BY id`).all() as { id: number }[]).map(
      (r) => r.id,
    );
    this.stmt(
      `UPDATE rounds SET status = 'failed', failure_reason = ?, ended_at = COALESCE(ended_at, ?) WHERE ${UNFINISHED}`,
    ).run(reason, at);
    return ids;
  }

  failUnfinishedRoundsAudited(reason: string, at: number): { ids: number[]; entries: AuditEntry[] } {
    return this.immediate(() => {
      const ids = this.failUnfinished(reason, at);
      const entries = this.audit.appendMany(
        ids.map((roundId) => checkedInput({ at, type: 'round.failed', actor: 'system', details: { roundId, reason } })),
      );
      return { ids, entries };
    });
  }

  commitRound(round: RoundRecord, model: ModelVersionRecord): void {
    checkCommit(round, model);
    // One transaction: either both rows exist afterwards or neither changed. The round
    // goes first only because the model's foreign key points at it.
    this.immediate(() => {
      this.records.guardModel(model);
      this.records.upsertRound(round);
      this.records.upsertModel(model, false);
    });
  }

  commitRoundAudited(round: RoundRecord, model: ModelVersionRecord, audit: AuditInput): AuditEntry {
    checkCommit(round, model);
    // Round, model, audit entry, head and checkpoint: all or nothing.
    return this.immediate((): AuditEntry => {
      this.records.guardModel(model);
      const written = this.records.upsertRound(round);
      this.records.upsertModel(model, false);
      // Sealed from the column values as bound: what a later read checks (see SqliteRecords.seal).
      const details = { ...audit.details, modelVersion: model.version, modelSha256: model.sha256 };
      const entry = this.records.seal(round.id, { ...audit, details }, false, written);
      this.audit.checkpoint(audit.at);
      return entry;
    });
  }

  saveModel(model: ModelVersionRecord): void {
    // Check and write in one transaction: a commit in between cannot slip past the check.
    this.immediate(() => this.records.upsertModel(model));
  }

  saveModelAudited(model: ModelVersionRecord, audit: AuditInput): AuditEntry {
    const input = checkedInput(audit);
    return this.immediate((): AuditEntry => {
      this.records.upsertModel(model);
      return this.audit.appendMany([input])[0]!;
    });
  }

  sealRound(roundId: number, audit: AuditInput): AuditEntry {
    return this.immediate(() => this.records.seal(roundId, audit, true));
  }
}
