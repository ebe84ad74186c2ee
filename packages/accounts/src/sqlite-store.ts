/**
 * AccountStore over a better-sqlite3 database: the aggregator's (migration 2 in its
 * store/sqlite-schema.ts) or the bank console's. The host runs ACCOUNTS_MIGRATION_SQL once. better-sqlite3 is synchronous, so each conditional update
 * (advanceTotpStep, useRecoveryCode) is atomic within the process.
 */
import type Database from 'better-sqlite3';
import type { AccountPatch, AccountRecord, AccountStore, ApiTokenRecord, SessionRecord } from './types.js';
import { StoreConflictError } from './errors.js';

export const ACCOUNTS_MIGRATION_SQL = `
  CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    password_hash        TEXT,
    must_change_password INTEGER NOT NULL,
    totp_secret          TEXT,
    totp_enabled_at      INTEGER,
    totp_last_step       INTEGER,
    created_at           INTEGER NOT NULL,
    last_login_at        INTEGER,
    disabled_at          INTEGER,
    failed_logins        INTEGER NOT NULL,
    locked_until         INTEGER
  );
  CREATE TABLE sessions (
    id_hash             TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    stage               TEXT NOT NULL,
    csrf_hash           TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    pending_totp_secret TEXT,
    user_agent          TEXT NOT NULL,
    ip                  TEXT NOT NULL
  );
  CREATE INDEX sessions_by_account ON sessions (account_id, created_at);
  CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    PRIMARY KEY (account_id, code_hash)
  );
  CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
  );
`;

const ACCOUNT_COLUMNS: Record<keyof AccountRecord, string> = {
  id: 'id',
  username: 'username',
  displayName: 'display_name',
  role: 'role',
  passwordHash: 'password_hash',
  mustChangePassword: 'must_change_password',
  totpSecret: 'totp_secret',
  totpEnabledAt: 'totp_enabled_at',
  totpLastStep: 'totp_last_step',
  createdAt: 'created_at',
  lastLoginAt: 'last_login_at',
  disabledAt: 'disabled_at',
  failedLogins: 'failed_logins',
  lockedUntil: 'locked_until',
};

const SESSION_COLUMNS: Record<keyof SessionRecord, string> = {
  idHash: 'id_hash',
  accountId: 'account_id',
  stage: 'stage',
  csrfHash: 'csrf_hash',
  createdAt: 'created_at',
  lastSeenAt: 'last_seen_at',
  pendingTotpSecret: 'pending_totp_secret',
  userAgent: 'user_agent',
  ip: 'ip',
};

const TOKEN_COLUMNS: Record<keyof ApiTokenRecord, string> = {
  id: 'id',
  name: 'name',
  role: 'role',
  tokenHash: 'token_hash',
  createdBy: 'created_by',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  revokedAt: 'revoked_at',
  lastUsedAt: 'last_used_at',
};

type Row = Record<string, unknown>;

function fromRow<T>(cols: Record<string, string>, row: Row | undefined, booleans: string[] = []): T | null {
  if (!row) return null;
  const out: Row = {};
  for (const [key, col] of Object.entries(cols)) out[key] = booleans.includes(key) ? row[col] === 1 : row[col];
  return out as T;
}

function toParams(cols: Record<string, string>, rec: object): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(rec)) {
    if (!(key in cols)) continue;
    out[cols[key]!] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return out;
}

function insert(db: Database.Database, table: string, params: Row): void {
  const cols = Object.keys(params);
  db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run(params);
}

function update(db: Database.Database, table: string, key: string, keyValue: string, params: Row): boolean {
  const cols = Object.keys(params);
  if (cols.length === 0) return !!db.prepare(`SELECT 1 FROM ${table} WHERE ${key} = ?`).get(keyValue);
  const info = db
    .prepare(`UPDATE ${table} SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE ${key} = @__key`)
    .run({ ...params, __key: keyValue });
  return info.changes > 0;
}

export class SqliteAccountStore implements AccountStore {
  /** @param db the store's open connection (a getter: it exists only after init). */
  constructor(private readonly db: () => Database.Database) {}

  private account(row: Row | undefined): AccountRecord | null {
    return fromRow<AccountRecord>(ACCOUNT_COLUMNS, row, ['mustChangePassword']);
  }

  async createAccount(a: AccountRecord): Promise<void> {
    try {
      insert(this.db(), 'accounts', toParams(ACCOUNT_COLUMNS, a));
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new StoreConflictError(`account ${a.username} already exists`);
      }
      throw err;
    }
  }
  async getAccount(id: string) {
    return this.account(this.db().prepare('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined);
  }
  async getAccountByUsername(username: string) {
    return this.account(
      this.db().prepare('SELECT * FROM accounts WHERE username = ?').get(username) as Row | undefined,
    );
  }
  async listAccounts() {
    const rows = this.db().prepare('SELECT * FROM accounts ORDER BY created_at, id').all() as Row[];
    return rows.map((r) => this.account(r)!);
  }
  async countAccounts() {
    return (this.db().prepare('SELECT COUNT(*) AS n FROM accounts').get() as { n: number }).n;
  }
  async updateAccount(id: string, patch: AccountPatch) {
    return update(this.db(), 'accounts', 'id', id, toParams(ACCOUNT_COLUMNS, patch));
  }
  async advanceTotpStep(id: string, step: number) {
    const info = this.db()
      .prepare('UPDATE accounts SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)')
      .run(step, id, step);
    return info.changes > 0;
  }

  async createSession(s: SessionRecord) {
    insert(this.db(), 'sessions', toParams(SESSION_COLUMNS, s));
  }
  async getSession(idHash: string) {
    return fromRow<SessionRecord>(
      SESSION_COLUMNS,
      this.db().prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as Row | undefined,
    );
  }
  async updateSession(idHash: string, patch: Partial<SessionRecord>) {
    return update(this.db(), 'sessions', 'id_hash', idHash, toParams(SESSION_COLUMNS, patch));
  }
  async deleteSession(idHash: string) {
    return this.db().prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash).changes > 0;
  }
  async deleteSessionsOf(accountId: string, keep?: string) {
    return this.db()
      .prepare('DELETE FROM sessions WHERE account_id = ? AND id_hash != ?')
      .run(accountId, keep ?? '').changes;
  }
  async listSessionsOf(accountId: string) {
    const rows = this.db()
      .prepare('SELECT * FROM sessions WHERE account_id = ? ORDER BY created_at, id_hash')
      .all(accountId) as Row[];
    return rows.map((r) => fromRow<SessionRecord>(SESSION_COLUMNS, r)!);
  }
  async purgeSessions(idleBefore: number, createdBefore: number) {
    return this.db()
      .prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?')
      .run(idleBefore, createdBefore).changes;
  }

  async setRecoveryCodes(accountId: string, codeHashes: string[]) {
    const db = this.db();
    db.transaction(() => {
      db.prepare('DELETE FROM recovery_codes WHERE account_id = ?').run(accountId);
      const add = db.prepare('INSERT OR IGNORE INTO recovery_codes (account_id, code_hash) VALUES (?, ?)');
      for (const h of codeHashes) add.run(accountId, h);
    }).immediate();
  }
  async useRecoveryCode(accountId: string, codeHash: string) {
    return (
      this.db().prepare('DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?').run(accountId, codeHash)
        .changes > 0
    );
  }
  async countRecoveryCodes(accountId: string) {
    return (
      this.db().prepare('SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = ?').get(accountId) as { n: number }
    ).n;
  }

  async createApiToken(t: ApiTokenRecord) {
    try {
      insert(this.db(), 'api_tokens', toParams(TOKEN_COLUMNS, t));
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new StoreConflictError(`token ${t.id} already exists`);
      }
      throw err;
    }
  }
  async getApiTokenByHash(tokenHash: string) {
    return fromRow<ApiTokenRecord>(
      TOKEN_COLUMNS,
      this.db().prepare('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as Row | undefined,
    );
  }
  async listApiTokens() {
    const rows = this.db().prepare('SELECT * FROM api_tokens ORDER BY created_at, id').all() as Row[];
    return rows.map((r) => fromRow<ApiTokenRecord>(TOKEN_COLUMNS, r)!);
  }
  async revokeApiToken(id: string, at: number) {
    return (
      this.db().prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id)
        .changes > 0
    );
  }
  async touchApiToken(id: string, at: number) {
    this.db().prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }
}
