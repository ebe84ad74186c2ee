/**
 * The banks connected now: at most one session per bank (a newer connection replaces the
 * older), heartbeats, and broadcasting one encoded frame to many banks. No policy lives here:
 * who may join is the bank desk's (banks.ts) decision, what a lost bank means for a round is the
 * workflow's.
 */
import { CloseCode, encodeFrame } from '@finsecure/common/protocol';
import type { BankSession } from './session.js';

export class BankSessions {
  private readonly byBank = new Map<string, BankSession>();
  /** When the previous heartbeat sweep ran (ms), to tell a late one. */
  private lastSweepAt: number | undefined;
  /** Whether the previous sweep judged no bank (it ran late). */
  private postponed = false;

  get size(): number {
    return this.byBank.size;
  }
  get(bankId: string): BankSession | undefined {
    return this.byBank.get(bankId);
  }
  has(bankId: string): boolean {
    return this.byBank.has(bankId);
  }
  values(): IterableIterator<BankSession> {
    return this.byBank.values();
  }
  ids(): IterableIterator<string> {
    return this.byBank.keys();
  }
  /** True while `session` is its bank's current connection (a replaced one's frames are ignored). */
  isCurrent(session: BankSession): boolean {
    return this.byBank.get(session.bankId) === session;
  }

  /** Registers a session; returns the one it replaces, if any (the caller closes and accounts for it). */
  add(session: BankSession): BankSession | undefined {
    const previous = this.byBank.get(session.bankId);
    this.byBank.set(session.bankId, session);
    return previous;
  }

  /** Forgets `session` if it is still current; false if it was already replaced or removed. */
  remove(session: BankSession): boolean {
    if (!this.isCurrent(session)) return false;
    this.byBank.delete(session.bankId);
    return true;
  }

  /**
   * Sends one frame to these banks (connected ones only); the frame is encoded once by the
   * caller, whatever the number of banks. Calls `sent` with each bank's byte count.
   */
  sendTo(bankIds: Iterable<string>, frame: Uint8Array, sent?: (bankId: string, bytes: number) => void): void {
    for (const bankId of bankIds) {
      const s = this.byBank.get(bankId);
      if (!s) continue;
      // Not `sent?.(id, s.send(frame))`: an optional call skips evaluating its arguments.
      const bytes = s.send(frame);
      sent?.(bankId, bytes);
    }
  }

  /** The sweeps start at `now` (ms): the first is late, like any other, when it runs an interval late. */
  sweepsStart(now: number): void {
    this.lastSweepAt = now;
  }

  /**
   * One heartbeat sweep (every heartbeat interval `intervalMs`, at `now`, ms): banks silent for
   * longer than `timeoutMs` are closed and returned in `silent` (the caller detaches them); every
   * other bank that was sent no frame since the previous sweep gets a heartbeat. A bank sent a
   * frame within the interval already knows the aggregator is there, and a heartbeat would be one
   * more socket write here (and, from older banks, an answer to read): in a busy round most banks
   * are sent something between two sweeps. A bank so hears from the aggregator at least every two
   * intervals; it gives up after four intervals and 2 s (bank-client heartbeat.ts, which beats by
   * the same rule when the timeout allows).
   *
   * A sweep more than one interval late (`lateMs` > 0) closes no bank: the event loop was held
   * (a long synchronous step, a starved process), and Node runs due timers before it reads the
   * sockets, so the frames the banks sent meanwhile are still unread. Judging silence then cut
   * live banks whose heartbeats sat in the socket buffers; the next sweep, after the sockets were
   * read, judges instead, even if it is late too (a sweep is postponed once at most, so a loop held
   * again and again still closes dead banks). A bank really gone is so closed one interval later.
   */
  sweep(now: number, timeoutMs: number, intervalMs: number): { silent: BankSession[]; lateMs: number } {
    const behind = this.lastSweepAt === undefined ? 0 : now - this.lastSweepAt - intervalMs;
    // Postponed once at most: the loop read the sockets before the next sweep, however late that one is.
    const lateMs = behind > intervalMs && !this.postponed ? behind : 0;
    this.postponed = lateMs > 0;
    this.lastSweepAt = now;
    const beat = encodeFrame({ type: 'heartbeat', sentAt: now });
    const silent: BankSession[] = [];
    for (const s of this.byBank.values()) {
      if (lateMs === 0 && now - s.lastMessageAt > timeoutMs) {
        s.close(CloseCode.HeartbeatTimeout, `no message for ${now - s.lastMessageAt} ms`);
        silent.push(s);
        continue;
      }
      if (!s.sentSinceSweep) s.send(beat);
      s.sentSinceSweep = false;
    }
    return { silent, lateMs };
  }

  /** Closes every connection (shutdown). */
  closeAll(code: number, reason: string): void {
    const all = [...this.byBank.values()];
    this.byBank.clear();
    for (const s of all) s.close(code, reason);
  }
}
