/**
 * The audit log of the SQLite store: appends that move the signed head in the same
 * transaction, checkpoints, and verification against the anchors (audit/anchor.ts).
 * Every method that writes must run inside the caller's transaction.
 */
import type Database from 'better-sqlite3';
import { AnchoredVerifier } from '../audit/anchor.js';
import { chainEntry, checkedInput, type ChainHead, type CheckedInput } from '../audit/chain.js';
import { checkCheckpointSignature, type AuditSigner, type AuditVerifierKey, type SignedHead } from '../audit/signer.js';
import { auditParams, toAudit, type AuditRow } from './sqlite-rows.js';
import type { AuditEntry, AuditInput, AuditVerification, VerifyAuditOptions } from './types.js';

interface HeadRow {
  seq: number;
  hash: string;
  at: number;
  key_id: string | null;
  signature: string | null;
}

const toHead = (r: HeadRow): SignedHead => ({
  seq: r.seq,
  hash: r.hash,
  at: r.at,
  keyId: r.key_id,
  signature: r.signature,
});

export class SqliteAudit {
  constructor(
    private readonly stmt: (sql: string) => Database.Statement,
    private readonly signer: () => AuditSigner | null,
    /** The key signatures are verified with: the signer's, or a public key given for verifying only. */
    private readonly verifyKey: () => AuditVerifierKey | null = signer,
  ) {}

  /**
   * Appends one entry after the head. The head, not MAX(seq), decides the next seq: when
   * the tail was deleted behind our back the new entry still follows the removed ones, so
   * a seq is never reused and the gap stays visible to verify.
   */
  append(input: AuditInput): AuditEntry {
    return this.appendMany([checkedInput(input)])[0]!;
  }

  /**
   * Appends entries in order after the head and moves the head once, to the last of them,
   * with one signature (the group commit of SqliteStore.appendAudit). Inside one transaction,
   * as `append`: the stored head always names the last stored entry, so what verify checks
   * (head, chain, checkpoints) is the same as after one append per entry. Inputs must have
   * passed `checkedInput` (this only hashes and inserts).
   */
  appendMany(inputs: readonly CheckedInput[]): AuditEntry[] {
    if (inputs.length === 0) return [];
    const head = this.head();
    const last = this.stmt('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; hash: string } | undefined;
    let base: ChainHead | null = head && (!last || head.seq >= last.seq) ? head : (last ?? null);
    const insert = this.stmt(
      `INSERT INTO audit (seq, at, type, actor, details, prev_hash, hash)
       VALUES (@seq, @at, @type, @actor, @details, @prevHash, @hash)`,
    );
    const out: AuditEntry[] = [];
    for (const input of inputs) {
      const entry = chainEntry(base, input);
      insert.run(auditParams(entry, input.detailsJson));
      out.push(entry);
      base = entry;
    }
    const end = out[out.length - 1]!;
    this.setHead(this.signed({ seq: end.seq, hash: end.hash, at: end.at }));
    return out;
  }

  head(): SignedHead | null {
    const row = this.stmt('SELECT seq, hash, at, key_id, signature FROM audit_head WHERE id = 1').get() as
      HeadRow | undefined;
    return row ? toHead(row) : null;
  }

  /**
   * Signs the head the anchoring migration derived from an existing log. Called only in
   * the start that applied that migration: re-signing an unsigned head later would bless
   * a tail someone cut off after stripping the head's signature.
   */
  signMigratedHead(): void {
    const head = this.head();
    if (head && !head.signature && this.signer()) this.setHead(this.signed(head));
  }

  /** Stores the current head as a signed checkpoint; null without a key or an empty log. */
  checkpoint(at: number): SignedHead | null {
    const head = this.head();
    const signer = this.signer();
    if (!head || !signer) return null;
    // Signed as a checkpoint, never as a head (not even the head's own signature, which would
    // let a later tail be cut back to this point with this row copied into audit_head).
    const cp = signer.signCheckpoint({ seq: head.seq, hash: head.hash, at });
    this.stmt(
      `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (seq) DO NOTHING`,
    ).run(cp.seq, cp.hash, cp.at, cp.keyId, cp.signature);
    return cp;
  }

  /** Re-signs as checkpoints those an earlier version signed as heads with this key; how many. */
  resignLegacyCheckpoints(): number {
    const signer = this.signer();
    if (!signer) return 0;
    const update = this.stmt('UPDATE audit_checkpoints SET signature = ? WHERE seq = ?');
    let n = 0;
    for (const cp of this.checkpoints()) {
      const checked = checkCheckpointSignature(cp, signer);
      if (!('legacy' in checked) || !checked.legacy) continue;
      update.run(signer.signCheckpoint(cp).signature, cp.seq);
      n++;
    }
    return n;
  }

  checkpoints(): SignedHead[] {
    return (
      this.stmt('SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq').all() as HeadRow[]
    ).map(toHead);
  }

  entry(seq: number): AuditEntry | null {
    const row = this.stmt('SELECT * FROM audit WHERE seq = ?').get(seq) as AuditRow | undefined;
    return row ? toAudit(row) : null;
  }

  /** Streams the whole log (it grows without bound) through the anchored verifier. */
  verify(opts: VerifyAuditOptions = {}): AuditVerification {
    const verifier = new AnchoredVerifier({
      head: this.head(),
      checkpoints: this.checkpoints(),
      bankHeads: opts.bankHeads ?? [],
      key: this.verifyKey(),
    });
    for (const row of this.stmt('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      let entry: AuditEntry;
      try {
        entry = toAudit(row);
      } catch (err) {
        verifier.unreadable(row.seq, (err as Error).message);
        continue;
      }
      verifier.push(entry);
    }
    return verifier.result();
  }

  private signed(h: { seq: number; hash: string; at: number }): SignedHead {
    const signer = this.signer();
    return signer ? signer.sign(h) : { ...h, keyId: null, signature: null };
  }

  private setHead(h: SignedHead): void {
    this.stmt(
      `INSERT INTO audit_head (id, seq, hash, at, key_id, signature) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at,
         key_id = excluded.key_id, signature = excluded.signature`,
    ).run(h.seq, h.hash, h.at, h.keyId, h.signature);
  }
}
