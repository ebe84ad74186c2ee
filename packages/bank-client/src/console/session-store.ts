/**
 * The console's account store (@finsecure/accounts SqliteAccountStore) with one change:
 * the idle timer's "last seen" stamp is written at most once per SESSION_TOUCH_MS per
 * session instead of on every request.
 *
 * Why: every state-changing request (each `POST /api/score`) extends its session's idle
 * timer, and each of those writes is a SQLite commit with `synchronous = FULL`, i.e. an
 * fsync, the largest and most variable part of scoring one transaction (0.6 ms median,
 * 4–20 ms at the tail on a shared disk). A stamp up to SESSION_TOUCH_MS old makes an idle
 * timeout (15 minutes by default) end at most that much early; nothing else reads it.
 */
import type Database from 'better-sqlite3';
import { SqliteAccountStore, type SessionRecord } from '@finsecure/accounts';

/** Resolution of a session's stored last-seen time, in ms. */
export const SESSION_TOUCH_MS = 5_000;

export class ConsoleAccountStore extends SqliteAccountStore {
  /** lastSeenAt as stored, from the latest read of each session (authenticateSession reads first). */
  private readonly stored = new Map<string, number>();

  constructor(
    db: () => Database.Database,
    private readonly touchMs = SESSION_TOUCH_MS,
  ) {
    super(db);
  }

  override async getSession(idHash: string): Promise<SessionRecord | null> {
    const s = await super.getSession(idHash);
    if (s) this.stored.set(idHash, s.lastSeenAt);
    else this.stored.delete(idHash);
    return s;
  }

  override async updateSession(
    idHash: string,
    patch: Partial<Omit<SessionRecord, 'idHash' | 'accountId'>>,
  ): Promise<boolean> {
    const keys = Object.keys(patch);
    const seen = patch.lastSeenAt;
    const was = this.stored.get(idHash);
    // Only a pure touch that moves the stamp forward by less than the resolution is skipped.
    if (keys.length === 1 && seen !== undefined && was !== undefined && seen >= was && seen - was < this.touchMs)
      return true;
    const ok = await super.updateSession(idHash, patch);
    if (ok && seen !== undefined) this.stored.set(idHash, seen);
    return ok;
  }

  override async deleteSession(idHash: string): Promise<boolean> {
    this.stored.delete(idHash);
    return super.deleteSession(idHash);
  }
}
