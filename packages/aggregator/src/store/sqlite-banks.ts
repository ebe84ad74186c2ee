/**
 * The SQLite store's banks table: one row per bank, its token hash and when it was created,
 * last seen and revoked. Kept apart from the store class, which is left with connection and
 * lifecycle; nothing here is audited or sealed (the callers audit bank changes themselves).
 * `stmt` is the store's prepared-statement cache (it writes waiting audit appends first).
 */
import Database from 'better-sqlite3';
import { bankParams, toBank, type BankRow } from './sqlite-rows.js';
import { StoreConflictError, type BankRecord } from './types.js';

export class SqliteBanks {
  constructor(private readonly stmt: (sql: string) => Database.Statement) {}

  create(bank: BankRecord): void {
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

  get(id: string): BankRecord | null {
    const row = this.stmt('SELECT * FROM banks WHERE id = ?').get(id) as BankRow | undefined;
    return row ? toBank(row) : null;
  }

  list(): BankRecord[] {
    return (this.stmt('SELECT * FROM banks ORDER BY created_at, id').all() as BankRow[]).map(toBank);
  }

  touch(id: string, at: number): void {
    this.stmt('UPDATE banks SET last_seen_at = ? WHERE id = ?').run(at, id);
  }

  revoke(id: string, at: number): boolean {
    // Revoking twice keeps the first revocation time.
    return this.stmt('UPDATE banks SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(at, id).changes > 0;
  }

  setToken(id: string, tokenHash: string): boolean {
    return this.stmt('UPDATE banks SET token_hash = ?, revoked_at = NULL WHERE id = ?').run(tokenHash, id).changes > 0;
  }
}

function isSqliteError(err: unknown, code: string): boolean {
  return err instanceof Database.SqliteError && err.code === code;
}
