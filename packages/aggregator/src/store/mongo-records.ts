/**
 * The MongoDB store's rounds and model versions (the counterpart of sqlite-records.ts). A sealed
 * round is read back checked against the hash its audit entry recorded, and a model against its
 * sha256 (integrity.ts); a sealed round is never overwritten.
 */
import type { Collection } from 'mongodb';
import { checkModel, checkRound, sealedModelProblem } from './integrity.js';
import type { MongoAudit } from './mongo-audit.js';
import { isDuplicateKey, modelDoc, roundDoc, toModel, toRound, type ModelDoc } from './mongo-codec.js';
import { StoreConflictError, type ModelVersionRecord, type RoundRecord, type StorageReport } from './types.js';
import { checkBound, checkLimit } from './validate.js';

const FINISHED: RoundRecord['status'][] = ['committed', 'failed'];

export class MongoRecords {
  constructor(
    private readonly rounds: Collection<RoundRecord>,
    private readonly models: Collection<ModelDoc>,
    private readonly anchors: MongoAudit,
  ) {}

  async saveRound(round: RoundRecord): Promise<void> {
    // A sealed round is never overwritten (filter excludes it; the upsert then hits the unique id).
    try {
      await this.rounds.replaceOne({ id: round.id, auditSeq: { $exists: false } } as never, roundDoc(round), {
        upsert: true,
      });
    } catch (err) {
      if (isDuplicateKey(err))
        throw new StoreConflictError(
          `round ${round.id} is committed and sealed by the audit log; it cannot be overwritten`,
        );
      throw err;
    }
  }

  async getRound(id: number): Promise<RoundRecord | null> {
    const doc = await this.rounds.findOne({ id });
    return doc ? this.readRound(doc) : null;
  }

  async listRounds(opts: { limit?: number; before?: number } = {}): Promise<RoundRecord[]> {
    const before = checkBound('before', opts.before);
    const limit = checkLimit(opts.limit);
    if (limit === 0) return []; // the driver reads limit(0) as "no limit"
    const cursor = this.rounds.find(before === undefined ? {} : { id: { $lt: before } }).sort({ id: -1 });
    if (limit !== undefined) cursor.limit(limit);
    return Promise.all((await cursor.toArray()).map((d) => this.readRound(d)));
  }

  async listRoundsAscending(opts: { limit?: number; after?: number } = {}): Promise<RoundRecord[]> {
    const after = checkBound('after', opts.after);
    const limit = checkLimit(opts.limit);
    if (limit === 0) return [];
    const cursor = this.rounds.find(after === undefined ? {} : { id: { $gt: after } }).sort({ id: 1 });
    if (limit !== undefined) cursor.limit(limit);
    return Promise.all((await cursor.toArray()).map((d) => this.readRound(d)));
  }

  async maxRoundId(): Promise<number> {
    const doc = await this.rounds.findOne({}, { sort: { id: -1 }, projection: { _id: 0, id: 1 } });
    return doc?.id ?? 0;
  }

  async failUnfinishedRounds(reason: string, at: number): Promise<number[]> {
    // Runs at startup, before any round can begin, so nothing changes a status between
    // the read and the update.
    const unfinished = await this.rounds
      .find({ status: { $nin: FINISHED } }, { projection: { _id: 0, id: 1 } })
      .sort({ id: 1 })
      .toArray();
    const ids = unfinished.map((d) => d.id);
    if (ids.length === 0) return [];
    await this.rounds.updateMany({ id: { $in: ids }, status: { $nin: FINISHED } }, [
      // $literal: in a pipeline a string starting with '$' would be read as a field path.
      {
        $set: {
          status: 'failed',
          failureReason: { $literal: reason },
          endedAt: { $ifNull: ['$endedAt', { $literal: at }] },
        },
      },
    ]);
    return ids;
  }

  /**
   * The model of a committed round is never replaced (its seal names its sha256; a rollback stores a
   * new version). Check, then write: not atomic without a transaction, but one aggregator is the only
   * writer, and commitRound writes the model before its round is committed.
   * @throws StoreConflictError when version `model.version` belongs to a committed round.
   */
  async saveModel(model: ModelVersionRecord): Promise<void> {
    const existing = await this.models.findOne({ version: model.version }, { projection: { _id: 0, roundId: 1 } });
    if (
      existing &&
      existing.roundId !== null &&
      (await this.rounds.findOne({ id: existing.roundId, status: 'committed' }, { projection: { _id: 1 } }))
    )
      throw new StoreConflictError(
        `model version ${model.version} is the model of committed round ${existing.roundId}; it cannot be overwritten`,
      );
    await this.models.replaceOne({ version: model.version }, modelDoc(model), { upsert: true });
  }

  async getModel(version: number): Promise<ModelVersionRecord | null> {
    const doc = await this.models.findOne({ version });
    return doc ? checkModel(toModel(doc), { table: 'models' }) : null;
  }

  async latestModel(): Promise<ModelVersionRecord | null> {
    // Walk versions newest first without loading weights; normally the first one wins.
    const heads = this.models
      .find({}, { projection: { _id: 0, version: 1, roundId: 1 } })
      .sort({ version: -1 })
      .batchSize(8);
    try {
      for await (const head of heads) {
        if (
          head.roundId !== null &&
          !(await this.rounds.findOne({ id: head.roundId, status: 'committed' }, { projection: { _id: 1 } }))
        ) {
          continue; // left over from an interrupted commitRound
        }
        return this.getModel(head.version);
      }
      return null;
    } finally {
      await heads.close();
    }
  }

  async unsealedRounds(): Promise<number[]> {
    const docs = await this.rounds
      .find({ status: 'committed', auditSeq: { $exists: false } } as never, { projection: { _id: 0, id: 1 } })
      .sort({ id: 1 })
      .toArray();
    return docs.map((d) => d.id);
  }

  async checkStorage(): Promise<StorageReport> {
    const problems: string[] = [];
    let models = 0;
    let rounds = 0;
    for await (const doc of this.models.find({}).sort({ version: 1 })) {
      models++;
      try {
        checkModel(toModel(doc), { table: 'models' });
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    for await (const doc of this.rounds.find({ auditSeq: { $exists: true } } as never).sort({ id: 1 })) {
      rounds++;
      let round: RoundRecord;
      try {
        round = await this.readRound(doc);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      // The model is the one the seal named (sealedModelProblem: as the SQLite store checks).
      const seq = (doc as { auditSeq?: number }).auditSeq!;
      const model =
        round.modelVersion === null
          ? null
          : await this.models.findOne({ version: round.modelVersion }, { projection: { _id: 0, sha256: 1 } });
      const problem = sealedModelProblem(
        round.id,
        round.modelVersion,
        seq,
        await this.anchors.entry(seq),
        model?.sha256,
      );
      if (problem) problems.push(`collection models, ${problem}`);
    }
    // Page-level checks are the server's job (validate / the storage engine's checksums).
    return { ok: problems.length === 0, problems, checked: { pages: false, models, rounds } };
  }

  /** A round; a sealed one is checked against the hash its audit entry recorded. */
  async readRound(doc: RoundRecord): Promise<RoundRecord> {
    const r = toRound(doc);
    const seq = (doc as { auditSeq?: number }).auditSeq;
    if (seq === undefined || seq === null) return r;
    return checkRound(r, await this.anchors.entry(seq), seq, { table: 'rounds' });
  }
}
