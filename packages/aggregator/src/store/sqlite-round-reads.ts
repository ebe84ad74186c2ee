/**
 * The SQLite store's reads of rounds and models, kept beside their writes
 * (sqlite-round-writes.ts) so the store class is left with connection and lifecycle. Every row
 * read here goes through SqliteRecords, which checks it against its seal or sha256.
 * `stmt` is the store's prepared-statement cache (it writes waiting audit appends first).
 */
import type Database from 'better-sqlite3';
import type { SqliteRecords, SealedRoundRow } from './sqlite-records.js';
import type { ModelRow } from './sqlite-rows.js';
import type { ModelVersionRecord, RoundRecord } from './types.js';
import { checkBound, checkLimit } from './validate.js';

export class SqliteRoundReads {
  constructor(
    private readonly stmt: (sql: string) => Database.Statement,
    private readonly records: SqliteRecords,
  ) {}

  getRound(id: number): RoundRecord | null {
    const row = this.stmt('SELECT * FROM rounds WHERE id = ?').get(id) as SealedRoundRow | undefined;
    return row ? this.records.readRound(row) : null;
  }

  listRounds(opts: { limit?: number; before?: number } = {}): RoundRecord[] {
    const before = checkBound('before', opts.before);
    const limit = checkLimit(opts.limit) ?? -1; // SQLite: a negative LIMIT means none
    const where = before === undefined ? '' : 'WHERE id < @before';
    const rows = this.stmt(`SELECT * FROM rounds ${where} ORDER BY id DESC LIMIT @limit`).all({
      limit,
      ...(before === undefined ? {} : { before }),
    });
    return (rows as SealedRoundRow[]).map((r) => this.records.readRound(r));
  }

  listRoundsAscending(opts: { limit?: number; after?: number } = {}): RoundRecord[] {
    const after = checkBound('after', opts.after);
    const limit = checkLimit(opts.limit) ?? -1;
    const where = after === undefined ? '' : 'WHERE id > @after';
    const rows = this.stmt(`SELECT * FROM rounds ${where} ORDER BY id ASC LIMIT @limit`).all({
      limit,
      ...(after === undefined ? {} : { after }),
    });
    return (rows as SealedRoundRow[]).map((r) => this.records.readRound(r));
  }

  maxRoundId(): number {
    return (this.stmt('SELECT COALESCE(MAX(id), 0) AS id FROM rounds').get() as { id: number }).id;
  }

  getModel(version: number): ModelVersionRecord | null {
    const row = this.stmt('SELECT * FROM models WHERE version = ?').get(version) as ModelRow | undefined;
    return row ? this.records.readModel(row) : null;
  }

  latestModel(): ModelVersionRecord | null {
    // Same rule as the MongoDB store: a model whose round is not committed is left
    // over from an interrupted commit and is not the global model.
    const row = this.stmt(
      `SELECT m.* FROM models m LEFT JOIN rounds r ON r.id = m.round_id
       WHERE m.round_id IS NULL OR r.status = 'committed'
       ORDER BY m.version DESC LIMIT 1`,
    ).get() as ModelRow | undefined;
    return row ? this.records.readModel(row) : null;
  }
}
