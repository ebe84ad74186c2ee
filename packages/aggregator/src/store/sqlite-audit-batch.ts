/**
 * Group commit of the SQLite store's audit appends. Appends are written together, in order, in
 * one IMMEDIATE transaction that moves the signed head once: one Ed25519 signature and one commit
 * (an fsync under synchronous = FULL) per batch instead of per entry. A batch is written at the
 * end of the event-loop turn of its first awaited append, or, when every append in it is
 * `deferred` (its caller does not wait: the federation's audit of a round's events), up to
 * AUDIT_BATCH_WINDOW_MS after the first; AUDIT_BATCH_MAX waiting appends end it at once. The
 * window exists because at 1,000 banks the updates of a round arrive in hundreds of turns, and a
 * signature plus a commit per turn was a tenth of the aggregator's CPU per bank (issue 14 item
 * 1); awaited appends (an API request's audit, a CLI command's) keep the end-of-turn commit. The
 * stored head still names the last stored entry after every commit, so what verify checks (chain,
 * signed head, checkpoints, bank heads) is unchanged.
 *
 * Each append's promise resolves with its entry once the batch has committed: whoever awaits it
 * has it on disk, as with one transaction per append. The store writes the waiting appends before
 * any other use of the database (`flush`), so entries keep the order of the calls and every read,
 * seal and checkpoint sees them.
 */
import type Database from 'better-sqlite3';
import { checkedInput, type CheckedInput } from '../audit/chain.js';
import type { SqliteAudit } from './sqlite-audit.js';
import type { AuditEntry, AuditInput } from './types.js';

/**
 * How long the first waiting deferred append waits for company, ms. A round's updates trickle in
 * over its training spread (100–500 ms in the bench, seconds on real data): with 10 ms a 100-bank
 * round wrote about 40 batches, whose commits and signatures were a tenth of its CPU; with 100 ms
 * a 10-bank round still wrote three to four, each a transaction and an Ed25519 signature (about a
 * tenth of a steady 10-bank round's CPU, bench/RESULTS.md, issue 14 item 1). 1,000 ms makes it one
 * per round whenever the fit stage closes within a second of its first update: the stage's close
 * saves the round record, and any use of the store writes the waiting entries first. What a crash
 * can lose is the `update.accepted` entries of the last second of a round that never commits (it is
 * marked failed at the next start, and none of its updates reached a model).
 */
export const AUDIT_BATCH_WINDOW_MS = 1_000;
/** Waiting appends that end the window at once (bounds the batch's transaction and memory). */
export const AUDIT_BATCH_MAX = 512;

interface PendingAppend {
  input: CheckedInput;
  resolve: (entry: AuditEntry) => void;
  reject: (err: Error) => void;
}

export class AuditGroupCommit {
  private pending: PendingAppend[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    /** The open connection, or null once closed (appends are refused then). */
    private readonly conn: () => Database.Database | null,
    private readonly audit: SqliteAudit,
    /** How long the first waiting append waits for company, ms. */
    private readonly windowMs = AUDIT_BATCH_WINDOW_MS,
  ) {}

  /**
   * Queues an entry: for the end of this turn, or of the window when `deferred`. Bad input (audit/chain.ts
   * checkedInput) and a closed store are rejected at once and never join a batch; a batch whose
   * transaction fails rejects each of its appends with that error (nothing of it is stored).
   */
  append(input: AuditInput, deferred = false): Promise<AuditEntry> {
    let checked: CheckedInput;
    try {
      if (!this.conn()) throw new Error('SqliteStore is not open: call init() first');
      checked = checkedInput(input);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.pending.push({ input: checked, resolve, reject });
      if (!deferred || this.pending.length >= AUDIT_BATCH_MAX) this.immediate ??= setImmediate(() => this.flush());
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Writes the appends waiting, now; a no-op when none are (cheap enough to call before every query). */
  flush(): void {
    this.clearTimer();
    if (this.pending.length === 0) return;
    const conn = this.conn();
    if (!conn) return;
    // Taken before writing: the statements run below come back through the store's stmt(), which flushes.
    const batch = this.pending;
    this.pending = [];
    let entries: AuditEntry[];
    try {
      entries = conn.transaction(() => this.audit.appendMany(batch.map((p) => p.input))).immediate();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(entries[i]!);
  }

  /** Writes what is waiting and stops the timer; call before closing the connection. */
  close(): void {
    this.flush();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
