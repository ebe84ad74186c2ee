/**
 * Group commit of the SQLite store's audit appends. Appends made in one event-loop turn are
 * written together at its end (setImmediate), in order, in one IMMEDIATE transaction that moves
 * the signed head once: one Ed25519 signature and one commit (an fsync under synchronous = FULL)
 * per batch instead of per entry. The stored head still names the last stored entry after every
 * commit, so what verify checks (chain, signed head, checkpoints, bank heads) is unchanged.
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

interface PendingAppend {
  input: CheckedInput;
  resolve: (entry: AuditEntry) => void;
  reject: (err: Error) => void;
}

export class AuditGroupCommit {
  private pending: PendingAppend[] = [];
  private timer: NodeJS.Immediate | null = null;

  constructor(
    /** The open connection, or null once closed (appends are refused then). */
    private readonly conn: () => Database.Database | null,
    private readonly audit: SqliteAudit,
  ) {}

  /**
   * Queues an entry for the end of this event-loop turn. Bad input (audit/chain.ts
   * checkedInput) and a closed store are rejected at once and never join a batch; a batch whose
   * transaction fails rejects each of its appends with that error (nothing of it is stored).
   */
  append(input: AuditInput): Promise<AuditEntry> {
    let checked: CheckedInput;
    try {
      if (!this.conn()) throw new Error('SqliteStore is not open: call init() first');
      checked = checkedInput(input);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.pending.push({ input: checked, resolve, reject });
      this.timer ??= setImmediate(() => {
        this.timer = null;
        this.flush();
      });
    });
  }

  /** Writes the appends waiting, now; a no-op when none are (cheap enough to call before every query). */
  flush(): void {
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
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
  }
}
