/**
 * Verifies the audit chain against its anchors: statements about the chain kept where
 * an edit of the log cannot reach them all.
 *
 * - the signed head: (seq, hash) of the last entry, re-signed with every append in the
 *   same transaction; a deleted tail leaves the log shorter than its head;
 * - signed checkpoints: (seq, hash) kept at every commit, start and stop, signed as
 *   checkpoints (never valid as a head: audit/signer.ts); a rewritten past (an old entry
 *   altered and every later hash recomputed) no longer reaches them;
 * - bank heads: the heads each bank was sent with its round assignments and kept in its
 *   own state directory (audit/bank-heads.ts); they need no key and no trust in the
 *   aggregator's disk.
 *
 * Pure: entries are pushed in ascending seq order (streamed by the store).
 */
import type { AuditEntry, AuditVerification } from '../store/types.js';
import { ChainVerifier } from './chain.js';
import { checkCheckpointSignature, checkHeadSignature, type AuditVerifierKey, type SignedHead } from './signer.js';

/** One (seq, hash) some witness saw, and who (for messages: "bank alpha (heads.jsonl line 4)"). */
export interface WitnessedHead {
  seq: number;
  hash: string;
  source: string;
}

export interface AnchorInputs {
  /** The stored head; null when the store has none (a log written before anchoring, or deleted). */
  head: SignedHead | null;
  checkpoints: SignedHead[];
  bankHeads?: WitnessedHead[];
  /** Public key the signatures must verify with; null: signatures are not checked (and reported so). */
  key: AuditVerifierKey | null;
}

/** Chain check plus every anchor; collects all problems, reports the first as brokenAt/reason. */
export class AnchoredVerifier {
  private readonly chain = new ChainVerifier();
  private readonly expected = new Map<number, WitnessedHead[]>();
  private readonly problems: { seq: number; reason: string }[] = [];
  private last: { seq: number; hash: string } | null = null;
  /** Checkpoints an earlier version signed as heads (accepted; re-signed at the aggregator's next start). */
  private legacy = 0;

  constructor(private readonly inputs: AnchorInputs) {
    const { head, checkpoints, bankHeads = [], key } = inputs;
    for (const cp of checkpoints) {
      const label = `signed checkpoint at entry ${cp.seq}`;
      if (key) {
        const checked = checkCheckpointSignature(cp, key);
        if ('problem' in checked) this.problem(cp.seq, `${label} ${checked.problem}`);
        else if (checked.legacy) this.legacy++;
      }
      this.expect({ seq: cp.seq, hash: cp.hash, source: label });
    }
    for (const h of bankHeads) this.expect(h);
    if (head && key) {
      const why = checkHeadSignature(head, key);
      if (why) this.problem(head.seq, `the audit head (entry ${head.seq}) ${why}`);
    }
  }

  push(entry: AuditEntry): void {
    this.chain.push(entry);
    this.last = { seq: entry.seq, hash: entry.hash };
    for (const w of this.expected.get(entry.seq) ?? []) {
      if (w.hash !== entry.hash)
        this.problem(
          entry.seq,
          `${w.source} recorded entry ${entry.seq} with hash ${w.hash.slice(0, 12)}…, the log has ${entry.hash.slice(0, 12)}…: the log was rewritten`,
        );
    }
  }

  unreadable(seq: number, reason: string): void {
    this.chain.unreadable(seq, reason);
    this.last = { seq, hash: '' };
  }

  result(): AuditVerification {
    const { head, checkpoints, bankHeads = [], key } = this.inputs;
    const chain = this.chain.result();
    const lastSeq = this.last?.seq ?? 0;
    const all = [...(chain.ok ? [] : [{ seq: chain.brokenAt!, reason: chain.reason! }]), ...this.problems];
    for (const [seq, ws] of this.expected) {
      if (seq > lastSeq)
        for (const w of ws)
          all.push({
            seq,
            reason: `${w.source} names entry ${seq}, but the log ends at entry ${lastSeq}: its tail was removed`,
          });
    }
    if (head) {
      if (head.seq > lastSeq)
        all.push({
          seq: lastSeq + 1,
          reason: `the audit head says the log ends at entry ${head.seq}, but it ends at entry ${lastSeq}: entries ${lastSeq + 1}…${head.seq} were removed`,
        });
      else if (head.seq < lastSeq)
        all.push({
          seq: head.seq + 1,
          reason: `entries ${head.seq + 1}…${lastSeq} follow the audit head (entry ${head.seq}): they were written behind the aggregator's back`,
        });
      else if (this.last && head.hash !== this.last.hash)
        all.push({
          seq: head.seq,
          reason: `the audit head's hash differs from entry ${head.seq}'s: the log was rewritten`,
        });
    } else if (lastSeq > 0) {
      all.push({ seq: lastSeq, reason: 'the audit head anchor is missing (deleted from the database)' });
    }
    all.sort((a, b) => a.seq - b.seq);
    const anchors = {
      head: head ? (head.signature ? 'signed' : 'unsigned') : 'missing',
      headSeq: head?.seq ?? null,
      keyId: key?.keyId ?? null,
      signaturesChecked: key !== null,
      checkpoints: checkpoints.length,
      legacyCheckpoints: this.legacy,
      bankHeads: bankHeads.length,
    } as const;
    return all.length
      ? {
          ok: false,
          entries: chain.entries,
          brokenAt: all[0].seq,
          reason: all[0].reason,
          problems: all.map((p) => p.reason),
          anchors,
        }
      : { ok: true, entries: chain.entries, anchors };
  }

  private expect(w: WitnessedHead): void {
    const list = this.expected.get(w.seq) ?? [];
    list.push(w);
    this.expected.set(w.seq, list);
  }

  private problem(seq: number, reason: string): void {
    this.problems.push({ seq, reason });
  }
}

/** One line of text naming what a verification checked against, for `verify` output. */
export function describeAnchors(v: AuditVerification): string {
  const a = v.anchors;
  if (!a) return 'hash chain only (no anchors)';
  const parts = [
    a.head === 'missing'
      ? 'no audit head'
      : `${a.head} head at entry ${a.headSeq}${a.signaturesChecked ? ` (key ${a.keyId})` : ' (signatures not checked: no key)'}`,
    `${a.checkpoints} signed checkpoint${a.checkpoints === 1 ? '' : 's'}` +
      (a.legacyCheckpoints
        ? ` (${a.legacyCheckpoints} signed as heads by an earlier version: the aggregator re-signs them at its next start)`
        : ''),
  ];
  if (a.bankHeads) parts.push(`${a.bankHeads} head${a.bankHeads === 1 ? '' : 's'} kept by banks`);
  return parts.join(', ');
}
