/**
 * MongoDB store for deployments (MongoDB 5.0 or newer: round records key per-bank stats
 * by bank id, and ids may contain dots, which 5.0 stores without complaint).
 *
 * One aggregator process is the only writer. Unlike the SQLite store (store/instance-lock.ts),
 * nothing enforces that here: a second aggregator on the same database would fail the first's
 * live round at its start and overwrite its counters. Enforcing it needs a lease document
 * (claimed with findOneAndUpdate, renewed by a timer, taken over after it expires) and a server to
 * test it against; until then, run exactly one aggregator per MongoDB database. Records keep their natural keys as plain
 * fields (id, version, seq, key) with unique indexes; Mongo's own _id is never exposed.
 * The client is created with ignoreUndefined so that an undefined optional field is
 * dropped, exactly as JSON drops it in the SQLite store, rather than stored as null.
 */
import { MongoClient, type Collection, type Db } from 'mongodb';
import { existsSync } from 'node:fs';
import { loadAuditKey, type AuditSigner, type SignedHead } from '../audit/signer.js';
import { checkedInput } from '../audit/chain.js';
import { roundRecordHash } from './integrity.js';
import { MongoAudit } from './mongo-audit.js';
import { MongoAccountStore } from './mongo-accounts.js';
import { MongoJobs } from './mongo-jobs.js';
import { MongoRecords } from './mongo-records.js';
import {
  bankDoc,
  isDuplicateKey,
  toAudit,
  toBank,
  toRound,
  type AuditDoc,
  type ModelDoc,
  type SettingDoc,
} from './mongo-codec.js';
import {
  StoreConflictError,
  type AuditEntry,
  type AuditInput,
  type AuditVerification,
  type BankRecord,
  type JobRecord,
  type ModelVersionRecord,
  type RoundRecord,
  type StorageReport,
  type Store,
  type VerifyAuditOptions,
} from './types.js';
import { checkBound, checkCommit, checkLimit } from './validate.js';

export const DEFAULT_MONGODB_DB = 'finsecure';

/** Optimistic retries if another writer took the seq we computed (it should not exist). */
const AUDIT_APPEND_ATTEMPTS = 5;

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly accounts: MongoAccountStore;
  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly banks: Collection<BankRecord>;
  private readonly rounds: Collection<RoundRecord>;
  private readonly models: Collection<ModelDoc>;
  private readonly settings: Collection<SettingDoc>;
  private readonly audit: Collection<AuditDoc>;
  private readonly jobs: Collection<JobRecord>;
  /** Tail of the in-process audit append queue; see appendAudit. */
  private auditQueue: Promise<unknown> = Promise.resolve();
  private signer: AuditSigner | null = null;
  private readonly anchors: MongoAudit;
  private readonly records: MongoRecords;
  private readonly jobStore: MongoJobs;

  /**
   * @param auditKeyFile Ed25519 key signing the audit head and checkpoints (created when
   *   missing); null: heads stay unsigned.
   */
  constructor(
    uri: string,
    dbName: string = DEFAULT_MONGODB_DB,
    private readonly auditKeyFile: string | null = null,
  ) {
    this.client = new MongoClient(uri, { ignoreUndefined: true });
    this.db = this.client.db(dbName);
    this.banks = this.db.collection<BankRecord>('banks');
    this.rounds = this.db.collection<RoundRecord>('rounds');
    this.models = this.db.collection<ModelDoc>('models');
    this.settings = this.db.collection<SettingDoc>('settings');
    this.audit = this.db.collection<AuditDoc>('audit');
    this.jobs = this.db.collection<JobRecord>('jobs');
    this.accounts = new MongoAccountStore(this.db);
    this.anchors = new MongoAudit(this.db, this.audit, () => this.signer);
    this.records = new MongoRecords(this.rounds, this.models, this.anchors);
    this.jobStore = new MongoJobs(this.jobs);
  }

  async init(): Promise<void> {
    await this.client.connect(); // fail here, at startup, if the server is unreachable
    // createIndex is a no-op when an identical index exists, so init stays idempotent.
    // One index per query below; the unique ones also enforce the natural keys.
    await Promise.all([
      this.banks.createIndex({ id: 1 }, { unique: true, name: 'id_unique' }),
      this.banks.createIndex({ createdAt: 1, id: 1 }, { name: 'createdAt_id' }), // listBanks order
      this.rounds.createIndex({ id: 1 }, { unique: true, name: 'id_unique' }), // also serves sort by id, both ways
      this.rounds.createIndex({ status: 1 }, { name: 'status' }), // failUnfinishedRounds
      this.models.createIndex({ version: 1 }, { unique: true, name: 'version_unique' }), // also latestModel's sort
      this.settings.createIndex({ key: 1 }, { unique: true, name: 'key_unique' }),
      this.audit.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' }), // the chain's last line of defence
      this.jobs.createIndex({ id: 1 }, { unique: true, name: 'id_unique' }), // analytics jobs, also sort by id
      this.accounts.init(),
    ]);
    if (this.auditKeyFile) {
      // A key is created only for an empty log: one signed by a key now missing must not be re-signed.
      if (!existsSync(this.auditKeyFile)) {
        const last = await this.audit.findOne({}, { sort: { seq: -1 }, projection: { _id: 0, seq: 1 } });
        const head = await this.anchors.head();
        if (last || head)
          throw new Error(
            `audit key ${this.auditKeyFile} is missing; the log is signed by key ${head?.keyId ?? '(unsigned head)'} ` +
              `(${last?.seq ?? head?.seq ?? 0} entries); restore it from your backup. A new key is created only for ` +
              'an empty audit log.',
          );
      }
      this.signer = loadAuditKey(this.auditKeyFile, { create: true });
    }
    await this.anchors.init();
  }

  async close(): Promise<void> {
    await this.auditQueue; // let queued audit appends land first
    await this.client.close();
  }

  // ------------------------------------------------------------------ banks

  async createBank(bank: BankRecord): Promise<void> {
    try {
      await this.banks.insertOne(bankDoc(bank));
    } catch (err) {
      if (isDuplicateKey(err)) throw new StoreConflictError(`bank ${bank.id} already exists`);
      throw err;
    }
  }

  async getBank(id: string): Promise<BankRecord | null> {
    const doc = await this.banks.findOne({ id });
    return doc ? toBank(doc) : null;
  }

  async listBanks(): Promise<BankRecord[]> {
    const docs = await this.banks.find({}).sort({ createdAt: 1, id: 1 }).toArray();
    return docs.map(toBank);
  }

  async touchBank(id: string, at: number): Promise<void> {
    await this.banks.updateOne({ id }, { $set: { lastSeenAt: at } });
  }

  async revokeBank(id: string, at: number): Promise<boolean> {
    // Pipeline update so that revoking twice keeps the first revocation time.
    const res = await this.banks.updateOne({ id }, [
      { $set: { revokedAt: { $ifNull: ['$revokedAt', { $literal: at }] } } },
    ]);
    return res.matchedCount > 0;
  }

  async setBankToken(id: string, tokenHash: string): Promise<boolean> {
    const res = await this.banks.updateOne({ id }, { $set: { tokenHash, revokedAt: null } });
    return res.matchedCount > 0;
  }

  // ------------------------------------------------------------------ settings

  async getSetting<T>(key: string): Promise<T | null> {
    const doc = await this.settings.findOne({ key });
    return doc ? ((doc.value ?? null) as T | null) : null;
  }

  async setSetting<T>(key: string, value: T): Promise<void> {
    await this.settings.replaceOne({ key }, { key, value }, { upsert: true });
  }

  /**
   * Without a replica-set transaction: the settings, then the entries (one job on the append
   * queue: contiguous, one ordered insert, the head moved once). When a write fails, the settings
   * are put back as they were, so a change without its entries does not stay stored; only a crash
   * between the writes can leave one (the same window as the other audited writes). Entries
   * inserted when the head then fails to move are withdrawn (mongo-audit.ts).
   */
  async setSettingsAudited(
    settings: Readonly<Record<string, unknown>>,
    audits: readonly AuditInput[],
  ): Promise<AuditEntry[]> {
    if (audits.length === 0) throw new RangeError('setSettingsAudited needs at least one audit entry');
    audits.forEach((a) => checkedInput(a)); // bad input must change nothing
    const before = new Map<string, SettingDoc | null>();
    for (const key of Object.keys(settings)) before.set(key, await this.settings.findOne({ key }));
    try {
      for (const [key, value] of Object.entries(settings)) await this.setSetting(key, value);
      return await this.appendAuditMany(audits);
    } catch (err) {
      // Best effort, every key, and the write's own error is what the caller gets. Entries inserted
      // before their head failed to move are withdrawn (mongo-audit.ts), also best effort: if that
      // fails too, the log names a change this puts back; a replica-set transaction would close that.
      for (const [key, doc] of before) {
        try {
          if (doc) await this.settings.replaceOne({ key }, { key, value: doc.value }, { upsert: true });
          else await this.settings.deleteOne({ key });
        } catch (again) {
          (err as Error & { restoreErrors?: unknown[] }).restoreErrors = [
            ...((err as { restoreErrors?: unknown[] }).restoreErrors ?? []),
            again,
          ];
        }
      }
      throw err;
    }
  }

  // ------------------------------------------------------------------ rounds

  saveRound(round: RoundRecord): Promise<void> {
    return this.records.saveRound(round);
  }

  getRound(id: number): Promise<RoundRecord | null> {
    return this.records.getRound(id);
  }

  listRounds(opts: { limit?: number; before?: number } = {}): Promise<RoundRecord[]> {
    return this.records.listRounds(opts);
  }

  listRoundsAscending(opts: { limit?: number; after?: number } = {}): Promise<RoundRecord[]> {
    return this.records.listRoundsAscending(opts);
  }

  maxRoundId(): Promise<number> {
    return this.records.maxRoundId();
  }

  failUnfinishedRounds(reason: string, at: number): Promise<number[]> {
    return this.records.failUnfinishedRounds(reason, at);
  }

  /** Not atomic here (no transaction): the round, then its entry; a crash between them loses the entry. */
  async saveRoundAudited(round: RoundRecord, audit: AuditInput): Promise<AuditEntry> {
    await this.saveRound(round);
    return this.appendAudit(audit);
  }

  /** Not atomic here: the rounds, then their entries. */
  async failUnfinishedRoundsAudited(reason: string, at: number): Promise<{ ids: number[]; entries: AuditEntry[] }> {
    const ids = await this.failUnfinishedRounds(reason, at);
    const entries: AuditEntry[] = [];
    for (const roundId of ids)
      entries.push(await this.appendAudit({ at, type: 'round.failed', actor: 'system', details: { roundId, reason } }));
    return { ids, entries };
  }

  // ------------------------------------------------------------------ models

  /**
   * Without a replica-set transaction the two writes cannot be atomic, so the order is
   * what keeps the promise: the model first, then the round. A crash between them leaves
   * a model whose round is not committed; the restart marks that round failed and
   * latestModel() ignores such a model, so the aggregator resumes from the previous
   * version and the next commit of that version number replaces the orphan. The other
   * order could leave a committed round pointing at a model that does not exist.
   */
  async commitRound(round: RoundRecord, model: ModelVersionRecord): Promise<void> {
    checkCommit(round, model);
    await this.saveModel(model);
    await this.saveRound(round);
  }

  /**
   * Not atomic here (no transaction): model, round, then the audit entry and the seal.
   * A crash before the entry leaves an unsealed committed round, which the start-up
   * check (audit/startup.ts) reports and seals with an entry saying so.
   */
  async commitRoundAudited(round: RoundRecord, model: ModelVersionRecord, audit: AuditInput): Promise<AuditEntry> {
    await this.commitRound(round, model);
    const entry = await this.appendAudit({
      ...audit,
      details: {
        ...audit.details,
        roundId: round.id,
        modelVersion: model.version,
        modelSha256: model.sha256,
        roundHash: roundRecordHash(round),
      },
    });
    await this.rounds.updateOne({ id: round.id }, { $set: { auditSeq: entry.seq } as never });
    await this.anchors.checkpoint(audit.at);
    return entry;
  }

  /** Not atomic here (no transaction): the model, then its entry; a crash between them loses the entry. */
  async saveModelAudited(model: ModelVersionRecord, audit: AuditInput): Promise<AuditEntry> {
    await this.saveModel(model);
    return this.appendAudit(audit);
  }

  saveModel(model: ModelVersionRecord): Promise<void> {
    return this.records.saveModel(model);
  }

  getModel(version: number): Promise<ModelVersionRecord | null> {
    return this.records.getModel(version);
  }

  latestModel(): Promise<ModelVersionRecord | null> {
    return this.records.latestModel();
  }

  // ------------------------------------------------------------------ audit

  /**
   * Appends are chained through an in-process promise queue: each one reads the tail
   * and inserts the next seq only after the previous append finished, so concurrent
   * callers never compute the same seq. The unique seq index is the backstop should a
   * second writer ever appear: its insert fails instead of forking the chain, and we
   * re-read the tail and try again.
   */
  /** One append at a time (Store's `deferred` option changes nothing here: each append is its own write). */
  async appendAudit(input: AuditInput): Promise<AuditEntry> {
    return (await this.appendAuditMany([input]))[0]!;
  }

  /** Several entries as one job on the append queue: contiguous, chained in order, the head moved once. */
  private appendAuditMany(inputs: readonly AuditInput[]): Promise<AuditEntry[]> {
    const run = this.auditQueue.then(() => this.appendAuditManyNow(inputs));
    this.auditQueue = run.catch(() => undefined); // one failed append must not block the rest
    return run;
  }

  private async appendAuditManyNow(inputs: readonly AuditInput[]): Promise<AuditEntry[]> {
    for (let attempt = 1; ; attempt++) {
      const entries = await this.anchors.prepareMany(inputs);
      try {
        await this.anchors.insertMany(entries);
        return entries;
      } catch (err) {
        // Another writer took a seq: try again only when none of these was inserted (else a retry
        // would chain copies of them after themselves).
        const inserted = (err as { insertedCount?: number }).insertedCount;
        if (!isDuplicateKey(err) || inserted !== 0 || attempt >= AUDIT_APPEND_ATTEMPTS) throw err;
      }
    }
  }

  async listAudit(opts: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const afterSeq = checkBound('afterSeq', opts.afterSeq) ?? 0;
    const limit = checkLimit(opts.limit);
    if (limit === 0) return [];
    const cursor = this.audit.find({ seq: { $gt: afterSeq } }).sort({ seq: 1 });
    if (limit !== undefined) cursor.limit(limit);
    return (await cursor.toArray()).map(toAudit);
  }

  async verifyAudit(opts: VerifyAuditOptions = {}): Promise<AuditVerification> {
    return this.anchors.verify(opts);
  }

  async auditHead(): Promise<SignedHead | null> {
    return this.anchors.head();
  }

  checkpointAudit(at: number): Promise<SignedHead | null> {
    // Behind the queued appends, so the checkpoint is of a head that exists.
    const run = this.auditQueue.then(() => this.anchors.checkpoint(at));
    this.auditQueue = run.catch(() => undefined);
    return run;
  }

  resignLegacyCheckpoints(): Promise<number> {
    // Behind the queued appends and checkpoints, as checkpointAudit.
    const run = this.auditQueue.then(() => this.anchors.resignLegacyCheckpoints());
    this.auditQueue = run.catch(() => undefined);
    return run;
  }

  async listCheckpoints(): Promise<SignedHead[]> {
    return this.anchors.checkpoints();
  }

  unsealedRounds(): Promise<number[]> {
    return this.records.unsealedRounds();
  }

  async sealRound(roundId: number, audit: AuditInput): Promise<AuditEntry> {
    const doc = await this.rounds.findOne({ id: roundId });
    if (!doc || doc.status !== 'committed') throw new Error(`sealRound: round ${roundId} is not committed`);
    const seq = (doc as { auditSeq?: number }).auditSeq;
    if (seq !== undefined) throw new Error(`sealRound: round ${roundId} is already sealed by audit entry ${seq}`);
    const entry = await this.appendAudit({
      ...audit,
      details: { ...audit.details, roundId, roundHash: roundRecordHash(toRound(doc)) },
    });
    await this.rounds.updateOne({ id: roundId }, { $set: { auditSeq: entry.seq } as never });
    return entry;
  }

  checkStorage(): Promise<StorageReport> {
    return this.records.checkStorage();
  }

  // ------------------------------------------------------------------ analytics jobs

  saveJob(job: JobRecord): Promise<void> {
    return this.jobStore.save(job);
  }

  getJob(id: number): Promise<JobRecord | null> {
    return this.jobStore.get(id);
  }

  listJobs(opts: { limit?: number; before?: number } = {}): Promise<JobRecord[]> {
    return this.jobStore.list(opts);
  }
}
