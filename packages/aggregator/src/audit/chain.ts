/**
 * The audit log is a hash chain: every entry's hash covers its own content and the
 * previous entry's hash, so altering, inserting or deleting an entry anywhere but at
 * the very end breaks every later link. (Truncating the tail or rewriting the whole
 * tail cannot be detected from the log alone; publishing the head hash elsewhere, e.g.
 * in the logs, is what pins it.)
 *
 * hash = sha256hex(canonicalJson({ actor, at, details, prevHash, seq, type }))
 *
 * Pure functions only: the stores decide where entries live, this module decides what
 * they mean. Changing the formula invalidates every stored log, so a test pins it.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry, AuditInput, AuditVerification } from '../store/types.js';
import { wellFormed } from '@finsecure/common/protocol';
import { canonicalJson, normaliseJson } from './canonical.js';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * SHA-256 (hex) of the entry's canonical JSON: `{actor, at, details, prevHash, seq, type}`, keys
 * sorted (canonical.ts). `detailsJson`, the details' canonical JSON already written by
 * checkedInput, is used as is rather than written again (chainEntry).
 */
export function hashEntry(prevHash: string, entry: AuditInput & { seq: number }, detailsJson?: string): string {
  const { actor, at, seq, type } = entry;
  const plain =
    detailsJson !== undefined &&
    typeof actor === 'string' &&
    typeof type === 'string' &&
    Number.isFinite(at) &&
    Number.isFinite(seq);
  // Plain fields: the text canonicalJson writes for them, around the details written once.
  const body = plain
    ? `{"actor":${JSON.stringify(actor)},"at":${JSON.stringify(at)},"details":${detailsJson},` +
      `"prevHash":${JSON.stringify(prevHash)},"seq":${JSON.stringify(seq)},"type":${JSON.stringify(type)}}`
    : canonicalJson({ actor, at, details: entry.details, prevHash, seq, type });
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** The tail a new entry links to; null for an empty log. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * An audit input checked and with its details normalised (see checkedInput), and their canonical
 * JSON: written once, for the entry's hash and for the store's details column.
 */
export type CheckedInput = AuditInput & { details: Record<string, unknown>; detailsJson: string };

/**
 * Checks an input (string type and actor, finite timestamp, details a JSON object) and
 * normalises its details through JSON, so the entry built from it (and its hash) equals what
 * any store will read back later. Done once per entry; `chainEntry` then only hashes.
 * @throws TypeError naming what is wrong.
 */
export function checkedInput(input: AuditInput): CheckedInput {
  if (typeof input.type !== 'string' || typeof input.actor !== 'string') {
    throw new TypeError('audit entry needs a string type and actor');
  }
  if (!Number.isFinite(input.at)) throw new TypeError('audit entry needs a finite timestamp');
  const details = normaliseJson(input.details);
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new TypeError('audit entry details must be an object');
  }
  // Bare text columns: a lone surrogate would be stored as something else than was hashed (as
  // normaliseJson does for the details, the entry is made what a store will read back).
  return {
    at: input.at,
    type: wellFormed(input.type),
    actor: wellFormed(input.actor),
    details,
    detailsJson: canonicalJson(details),
  };
}

/** The entry that follows `head`, from an input already passed through `checkedInput`. */
export function chainEntry(head: ChainHead | null, input: CheckedInput): AuditEntry {
  const seq = head ? head.seq + 1 : 1;
  const prevHash = head ? head.hash : GENESIS_HASH;
  const entry = { seq, at: input.at, type: input.type, actor: input.actor, details: input.details };
  return { ...entry, prevHash, hash: hashEntry(prevHash, entry, input.detailsJson) };
}

/**
 * Builds the entry that follows `head`. Details are normalised through JSON first, so
 * the returned entry (and its hash) equals what any store will read back later.
 */
export function nextEntry(head: ChainHead | null, input: AuditInput): AuditEntry {
  return chainEntry(head, checkedInput(input));
}

/**
 * Checks entries one at a time, in ascending seq order, so a store can stream a long
 * log through it without holding it in memory. Reports the first break only; later
 * entries are still counted.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private count = 0;
  private broken: { seq: number; reason: string } | null = null;

  push(entry: AuditEntry): void {
    this.count++;
    if (this.broken) return;
    this.broken = this.check(entry);
    if (!this.broken) {
      this.expectedSeq = entry.seq + 1;
      this.prevHash = entry.hash;
    }
  }

  /** An entry whose stored form could not even be decoded (e.g. details not JSON). */
  unreadable(seq: number, reason: string): void {
    this.count++;
    this.broken ??= { seq, reason: `entry cannot be read: ${reason}` };
  }

  result(): AuditVerification {
    return this.broken
      ? { ok: false, entries: this.count, brokenAt: this.broken.seq, reason: this.broken.reason }
      : { ok: true, entries: this.count };
  }

  private check(e: AuditEntry): { seq: number; reason: string } | null {
    const expected = this.expectedSeq;
    if (e.seq !== expected) {
      return e.seq > expected
        ? { seq: expected, reason: `entry ${expected} is missing (next stored entry is ${e.seq})` }
        : { seq: e.seq, reason: `entry ${e.seq} is out of order or duplicated (expected ${expected})` };
    }
    if (e.prevHash !== this.prevHash) {
      return {
        seq: e.seq,
        reason:
          expected === 1
            ? 'first entry does not start from the genesis hash'
            : `prevHash does not match the hash of entry ${expected - 1}`,
      };
    }
    let actual: string;
    try {
      actual = hashEntry(e.prevHash, e);
    } catch (err) {
      return { seq: e.seq, reason: `entry cannot be hashed: ${(err as Error).message}` };
    }
    return actual === e.hash
      ? null
      : { seq: e.seq, reason: 'hash does not match the entry content (entry was altered)' };
  }
}

/** Verifies a whole log given in ascending seq order. */
export function verifyChain(entries: Iterable<AuditEntry>): AuditVerification {
  const v = new ChainVerifier();
  for (const e of entries) v.push(e);
  return v.result();
}
