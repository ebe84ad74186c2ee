/**
 * The bank's local audit log: a hash chain in the console database, in the same format as
 * the aggregator's (packages/aggregator/src/audit/chain.ts), so one verifier reads both:
 *
 *   hash = sha256hex(canonicalJson({ actor, at, details, prevHash, seq, type }))
 *
 * with canonical JSON = keys sorted, no whitespace, JSON.stringify numbers and strings
 * (RFC 8785 for the values accepted). A small local copy rather than an import: the bank
 * client must not depend on the aggregator package. Pure functions; the store is db.ts.
 */
import { createHash } from 'node:crypto';
import { wellFormed } from '@finsecure/common/protocol';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  at: number;
  type: string;
  actor: string;
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditInput {
  seq: number;
  prevHash: string;
  hash: string;
}

/** Keys sorted, no whitespace; rejects values that would not survive JSON (NaN, Infinity, ...). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const rec = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(rec).sort()) {
        if (rec[key] === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${canonicalJson(rec[key])}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} is not JSON`);
  }
}

export function hashEntry(prevHash: string, e: AuditInput & { seq: number }): string {
  const body = canonicalJson({ actor: e.actor, at: e.at, details: e.details, prevHash, seq: e.seq, type: e.type });
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/**
 * The entry that follows `head` (null: the first). Details go through JSON first, and the type and
 * actor lose any lone surrogate (SQLite's UTF-8 would read it back as something else), as stored.
 */
export function nextEntry(head: { seq: number; hash: string } | null, input: AuditInput): AuditEntry {
  const details = JSON.parse(JSON.stringify(input.details)) as Record<string, unknown>;
  const seq = head ? head.seq + 1 : 1;
  const prevHash = head ? head.hash : GENESIS_HASH;
  const entry = { seq, at: input.at, type: wellFormed(input.type), actor: wellFormed(input.actor), details };
  return { ...entry, prevHash, hash: hashEntry(prevHash, entry) };
}

/** Checks a whole chain in seq order; reports the first break. */
export function verifyChain(entries: Iterable<AuditEntry>): {
  ok: boolean;
  entries: number;
  brokenAt?: number;
  reason?: string;
} {
  let prev = GENESIS_HASH;
  let expected = 1;
  let n = 0;
  let broken: { seq: number; reason: string } | null = null;
  for (const e of entries) {
    n++;
    if (broken) continue;
    if (e.seq !== expected) broken = { seq: e.seq, reason: `expected seq ${expected}` };
    else if (e.prevHash !== prev) broken = { seq: e.seq, reason: 'prevHash does not match the previous entry' };
    else if (hashEntry(prev, e) !== e.hash) broken = { seq: e.seq, reason: 'hash does not match the content' };
    else {
      prev = e.hash;
      expected++;
    }
  }
  return broken ? { ok: false, entries: n, brokenAt: broken.seq, reason: broken.reason } : { ok: true, entries: n };
}
