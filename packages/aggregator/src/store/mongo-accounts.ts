/**
 * AccountStore over MongoDB: collections accounts, sessions, recovery_codes, api_tokens,
 * natural keys with unique indexes, Mongo's _id never exposed. Conditional updates
 * (advanceTotpStep, useRecoveryCode) are single atomic operations on the server.
 */
import { MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import type { AccountPatch, AccountRecord, AccountStore, ApiTokenRecord, SessionRecord } from '@finsecure/accounts';
import { StoreConflictError } from './types.js';

const DUPLICATE_KEY = 11000;
const NO_ID = { projection: { _id: 0 } } as const;

interface RecoveryDoc {
  accountId: string;
  codeHash: string;
}

function strip<T>(doc: Document | null): T | null {
  if (!doc) return null;
  const { _id: _ignored, ...rest } = doc;
  return rest as T;
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

export class MongoAccountStore implements AccountStore {
  private readonly accounts: Collection<AccountRecord>;
  private readonly sessions: Collection<SessionRecord>;
  private readonly recovery: Collection<RecoveryDoc>;
  private readonly tokens: Collection<ApiTokenRecord>;

  constructor(db: Db) {
    this.accounts = db.collection<AccountRecord>('accounts');
    this.sessions = db.collection<SessionRecord>('sessions');
    this.recovery = db.collection<RecoveryDoc>('recovery_codes');
    this.tokens = db.collection<ApiTokenRecord>('api_tokens');
  }

  /** Called from MongoStore.init(); idempotent. */
  async init(): Promise<void> {
    await Promise.all([
      this.accounts.createIndex({ id: 1 }, { unique: true, name: 'id_unique' }),
      this.accounts.createIndex({ username: 1 }, { unique: true, name: 'username_unique' }),
      this.accounts.createIndex({ createdAt: 1, id: 1 }, { name: 'createdAt_id' }),
      this.sessions.createIndex({ idHash: 1 }, { unique: true, name: 'idHash_unique' }),
      this.sessions.createIndex({ accountId: 1, createdAt: 1 }, { name: 'account_createdAt' }),
      this.recovery.createIndex({ accountId: 1, codeHash: 1 }, { unique: true, name: 'account_code_unique' }),
      this.tokens.createIndex({ id: 1 }, { unique: true, name: 'id_unique' }),
      this.tokens.createIndex({ tokenHash: 1 }, { unique: true, name: 'tokenHash_unique' }),
    ]);
  }

  async createAccount(a: AccountRecord) {
    try {
      await this.accounts.insertOne({ ...a });
    } catch (err) {
      if (isDuplicateKey(err)) throw new StoreConflictError(`account ${a.username} already exists`);
      throw err;
    }
  }
  async getAccount(id: string) {
    return strip<AccountRecord>(await this.accounts.findOne({ id }, NO_ID));
  }
  async getAccountByUsername(username: string) {
    return strip<AccountRecord>(await this.accounts.findOne({ username }, NO_ID));
  }
  async listAccounts() {
    return (await this.accounts.find({}, NO_ID).sort({ createdAt: 1, id: 1 }).toArray()).map((d) =>
      strip<AccountRecord>(d)!,
    );
  }
  async countAccounts() {
    return this.accounts.countDocuments({});
  }
  async updateAccount(id: string, patch: AccountPatch) {
    const r = await this.accounts.updateOne({ id }, { $set: { ...patch } });
    return r.matchedCount > 0;
  }
  async advanceTotpStep(id: string, step: number) {
    const r = await this.accounts.updateOne(
      { id, $or: [{ totpLastStep: null }, { totpLastStep: { $lt: step } }] },
      { $set: { totpLastStep: step } },
    );
    return r.modifiedCount > 0;
  }

  async createSession(s: SessionRecord) {
    await this.sessions.insertOne({ ...s });
  }
  async getSession(idHash: string) {
    return strip<SessionRecord>(await this.sessions.findOne({ idHash }, NO_ID));
  }
  async updateSession(idHash: string, patch: Partial<SessionRecord>) {
    return (await this.sessions.updateOne({ idHash }, { $set: { ...patch } })).matchedCount > 0;
  }
  async deleteSession(idHash: string) {
    return (await this.sessions.deleteOne({ idHash })).deletedCount > 0;
  }
  async deleteSessionsOf(accountId: string, keep?: string) {
    return (await this.sessions.deleteMany({ accountId, idHash: { $ne: keep ?? '' } })).deletedCount;
  }
  async listSessionsOf(accountId: string) {
    const docs = await this.sessions.find({ accountId }, NO_ID).sort({ createdAt: 1, idHash: 1 }).toArray();
    return docs.map((d) => strip<SessionRecord>(d)!);
  }
  async purgeSessions(idleBefore: number, createdBefore: number) {
    const r = await this.sessions.deleteMany({
      $or: [{ lastSeenAt: { $lt: idleBefore } }, { createdAt: { $lt: createdBefore } }],
    });
    return r.deletedCount;
  }

  async setRecoveryCodes(accountId: string, codeHashes: string[]) {
    await this.recovery.deleteMany({ accountId });
    const unique = [...new Set(codeHashes)];
    if (unique.length) await this.recovery.insertMany(unique.map((codeHash) => ({ accountId, codeHash })));
  }
  async useRecoveryCode(accountId: string, codeHash: string) {
    return (await this.recovery.deleteOne({ accountId, codeHash })).deletedCount > 0;
  }
  async countRecoveryCodes(accountId: string) {
    return this.recovery.countDocuments({ accountId });
  }

  async createApiToken(t: ApiTokenRecord) {
    try {
      await this.tokens.insertOne({ ...t });
    } catch (err) {
      if (isDuplicateKey(err)) throw new StoreConflictError(`token ${t.id} already exists`);
      throw err;
    }
  }
  async getApiTokenByHash(tokenHash: string) {
    return strip<ApiTokenRecord>(await this.tokens.findOne({ tokenHash }, NO_ID));
  }
  async listApiTokens() {
    return (await this.tokens.find({}, NO_ID).sort({ createdAt: 1, id: 1 }).toArray()).map((d) =>
      strip<ApiTokenRecord>(d)!,
    );
  }
  async revokeApiToken(id: string, at: number) {
    return (await this.tokens.updateOne({ id, revokedAt: null }, { $set: { revokedAt: at } })).modifiedCount > 0;
  }
  async touchApiToken(id: string, at: number) {
    await this.tokens.updateOne({ id }, { $set: { lastUsedAt: at } });
  }
}
