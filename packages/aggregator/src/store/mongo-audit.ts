/**
 * Anchors of the MongoDB store's audit log: the signed head (one document in
 * `audit_head`) and the signed checkpoints (`audit_checkpoints`), as in the SQLite store
 * (store/sqlite-audit.ts). Without a replica-set transaction the entries and their head are
 * two writes: the entries go first. If the head then cannot move, the entries are withdrawn
 * (best effort), since the next append would chain after them and sign them. A crash between
 * the two writes leaves them behind the head, which verify reports as "written behind the
 * aggregator's back" until the next append chains after them. Cannot be run here (no MongoDB
 * server); it compiles and follows the contract.
 */
import type { Collection, Db } from 'mongodb';
import { AnchoredVerifier } from '../audit/anchor.js';
import { nextEntry, type ChainHead } from '../audit/chain.js';
import { checkCheckpointSignature, type AuditSigner, type SignedHead } from '../audit/signer.js';
import { auditDoc, toAudit, type AuditDoc } from './mongo-codec.js';
import type { AuditEntry, AuditInput, AuditVerification, VerifyAuditOptions } from './types.js';

type HeadDoc = SignedHead & { key: 'head' };

const plain = (d: SignedHead): SignedHead => ({
  seq: d.seq,
  hash: d.hash,
  at: d.at,
  keyId: d.keyId ?? null,
  signature: d.signature ?? null,
});

export class MongoAudit {
  readonly heads: Collection<HeadDoc>;
  readonly checkpointsColl: Collection<SignedHead>;

  constructor(
    db: Db,
    private readonly audit: Collection<AuditDoc>,
    private readonly signer: () => AuditSigner | null,
  ) {
    this.heads = db.collection<HeadDoc>('audit_head');
    this.checkpointsColl = db.collection<SignedHead>('audit_checkpoints');
  }

  async init(): Promise<void> {
    await this.checkpointsColl.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' });
    // A log from before anchoring gets a head once (signed when there is a key). An existing
    // unsigned head is never re-signed: that would bless a tail cut off after stripping it.
    if (!(await this.head()) && (await this.checkpointsColl.countDocuments({}, { limit: 1 })) === 0) {
      const last = await this.last();
      if (last) await this.setHead(this.signed({ seq: last.seq, hash: last.hash, at: Date.now() }));
    }
  }

  /** What the next entry follows: the head, or a later entry written behind it. */
  private async prepareBase(): Promise<ChainHead | null> {
    const head = await this.head();
    const last = await this.last();
    return head && (!last || head.seq >= last.seq) ? head : last;
  }

  /**
   * Entries chained one after another from the head (a deleted tail never lets a seq be reused);
   * the caller serialises.
   */
  async prepareMany(inputs: readonly AuditInput[]): Promise<AuditEntry[]> {
    let base: ChainHead | null = await this.prepareBase();
    return inputs.map((input) => {
      const entry = nextEntry(base, input);
      base = entry;
      return entry;
    });
  }

  /**
   * Inserts the entries in order (one ordered insertMany), then moves the head once, to the last.
   * A failure after some were inserted leaves them behind the head, which verify reports.
   */
  async insertMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.audit.insertMany(entries.map(auditDoc), { ordered: true });
    } catch (err) {
      // Some may be in before the failure (an ordered insert stops at the first error).
      if (((err as { insertedCount?: number }).insertedCount ?? 0) > 0) await this.withdraw(entries);
      throw err;
    }
    await this.moveHeadOrWithdraw(entries);
  }

  /**
   * Moves the head to the last of `entries`, just inserted. If that fails they are withdrawn (best
   * effort): left behind the head, the next append would chain after them (`prepareBase`) and sign
   * entries whose write the caller was told had failed.
   */
  private async moveHeadOrWithdraw(entries: readonly AuditEntry[]): Promise<void> {
    const last = entries.at(-1)!;
    try {
      await this.setHead(this.signed({ seq: last.seq, hash: last.hash, at: last.at }));
    } catch (err) {
      await this.withdraw(entries);
      throw err;
    }
  }

  /** Deletes entries that were inserted but never became the head; a failure here is left to verify. */
  private async withdraw(entries: readonly AuditEntry[]): Promise<void> {
    // Only entries past the head: never one the head already covers (a head write may have landed
    // and still reported an error). Head unreadable: delete nothing.
    let head: SignedHead | null;
    try {
      head = await this.head();
    } catch {
      return;
    }
    const seqs = entries.map((e) => e.seq).filter((seq) => !head || seq > head.seq);
    if (seqs.length > 0) await this.audit.deleteMany({ seq: { $in: seqs } }).catch(() => undefined);
  }

  async head(): Promise<SignedHead | null> {
    const d = await this.heads.findOne({ key: 'head' });
    return d ? plain(d) : null;
  }

  async checkpoint(at: number): Promise<SignedHead | null> {
    const head = await this.head();
    const signer = this.signer();
    if (!head || !signer) return null;
    // Signed as a checkpoint, never as a head (audit/signer.ts: domain separation).
    const cp = signer.signCheckpoint({ seq: head.seq, hash: head.hash, at });
    await this.checkpointsColl.updateOne({ seq: cp.seq }, { $setOnInsert: { ...cp } }, { upsert: true });
    return cp;
  }

  /** Re-signs as checkpoints those an earlier version signed as heads with this key; how many. */
  async resignLegacyCheckpoints(): Promise<number> {
    const signer = this.signer();
    if (!signer) return 0;
    let n = 0;
    for (const cp of await this.checkpoints()) {
      const checked = checkCheckpointSignature(cp, signer);
      if (!('legacy' in checked) || !checked.legacy) continue;
      await this.checkpointsColl.updateOne(
        { seq: cp.seq },
        { $set: { signature: signer.signCheckpoint(cp).signature } },
      );
      n++;
    }
    return n;
  }

  async checkpoints(): Promise<SignedHead[]> {
    return (await this.checkpointsColl.find({}).sort({ seq: 1 }).toArray()).map(plain);
  }

  async entry(seq: number): Promise<AuditEntry | null> {
    const d = await this.audit.findOne({ seq });
    return d ? toAudit(d) : null;
  }

  async verify(opts: VerifyAuditOptions = {}): Promise<AuditVerification> {
    const verifier = new AnchoredVerifier({
      head: await this.head(),
      checkpoints: await this.checkpoints(),
      bankHeads: opts.bankHeads ?? [],
      key: this.signer(),
    });
    for await (const doc of this.audit.find({}).sort({ seq: 1 })) {
      let entry: AuditEntry;
      try {
        entry = toAudit(doc);
      } catch (err) {
        verifier.unreadable(doc.seq, (err as Error).message);
        continue;
      }
      verifier.push(entry);
    }
    return verifier.result();
  }

  private async last(): Promise<ChainHead | null> {
    return this.audit.findOne<ChainHead>({}, { sort: { seq: -1 }, projection: { _id: 0, seq: 1, hash: 1 } });
  }

  private signed(h: { seq: number; hash: string; at: number }): SignedHead {
    const signer = this.signer();
    return signer ? signer.sign(h) : { ...h, keyId: null, signature: null };
  }

  private async setHead(h: SignedHead): Promise<void> {
    await this.heads.replaceOne({ key: 'head' }, { key: 'head', ...h }, { upsert: true });
  }
}
