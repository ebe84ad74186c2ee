/**
 * Who may hold a bank socket open before (and after) authenticating: a pure table of
 * connections per remote address, with three limits.
 *
 * - `maxConnectionsPerAddress`: every bank socket from one address, authenticated or not.
 * - `maxUnauthenticatedPerAddress`: sockets from one address still waiting to authenticate,
 *   so one address cannot fill the pool below.
 * - `maxUnauthenticated`: sockets waiting to authenticate, all addresses together (memory).
 *   When it is full a newcomer is NOT refused: the oldest idle socket (no hello yet) of the
 *   address with the most idle sockets is evicted instead. An attacker spread over many
 *   addresses can churn the pool but cannot lock a bank out: a bank's socket waits a few
 *   milliseconds for its hello, so it is never the oldest for long.
 *
 * No IO and no clock: the bank socket plugin closes what this table says to close.
 */

export interface ConnectionLimits {
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  maxConnectionsPerAddress: number;
}

/** What to do with a new connection; `evict` is a waiting connection (and its address) to close to make room. */
export type Admission<T> =
  | { ok: true; evict: { conn: T; address: string } | null }
  | {
      ok: false;
      limit: 'maxConnectionsPerAddress' | 'maxUnauthenticatedPerAddress' | 'maxUnauthenticated';
      reason: string;
    };

interface Entry {
  address: string;
  waiting: boolean;
  /** Idle so far: no hello received yet. A socket whose hello is being checked is never evicted. */
  idle: boolean;
}

interface PerAddress {
  total: number;
  waiting: number;
}

export class ConnectionTable<T> {
  /** Insertion order = age: the first waiting entry of an address is its oldest. */
  private readonly entries = new Map<T, Entry>();
  private readonly addresses = new Map<string, PerAddress>();
  private waitingTotal = 0;

  constructor(private readonly limits: ConnectionLimits) {}

  /** Sockets waiting to authenticate, all addresses together. */
  get waiting(): number {
    return this.waitingTotal;
  }

  /** Counts of one address (zeros when it has none). */
  countsOf(address: string): PerAddress {
    return { ...(this.addresses.get(address) ?? { total: 0, waiting: 0 }) };
  }

  /**
   * Admits `conn` from `address` as waiting to authenticate, or says which limit refuses
   * it. When the global pool is full, the admitted connection displaces `evict`, which is
   * already removed from the table (the caller closes it; its later `release` is a no-op).
   */
  admit(address: string, conn: T): Admission<T> {
    const per = this.addresses.get(address) ?? { total: 0, waiting: 0 };
    const l = this.limits;
    if (per.total >= l.maxConnectionsPerAddress)
      return {
        ok: false,
        limit: 'maxConnectionsPerAddress',
        reason: `too many connections from your address (limit ${l.maxConnectionsPerAddress}); retry later`,
      };
    if (per.waiting >= l.maxUnauthenticatedPerAddress)
      return {
        ok: false,
        limit: 'maxUnauthenticatedPerAddress',
        reason: `too many connections from your address waiting to authenticate (limit ${l.maxUnauthenticatedPerAddress}); retry later`,
      };
    let evict: { conn: T; address: string } | null = null;
    if (this.waitingTotal >= l.maxUnauthenticated) {
      evict = this.oldestIdleOfBusiestAddress();
      // Every waiting socket has sent its hello (being checked): nothing idle to make room with.
      if (evict === null)
        return {
          ok: false,
          limit: 'maxUnauthenticated',
          reason: `too many connections waiting to authenticate (limit ${l.maxUnauthenticated}); retry later`,
        };
      this.release(evict.conn);
    }
    this.entries.set(conn, { address, waiting: true, idle: true });
    const after = this.addresses.get(address) ?? { total: 0, waiting: 0 };
    after.total++;
    after.waiting++;
    this.addresses.set(address, after);
    this.waitingTotal++;
    return { ok: true, evict };
  }

  /** `conn` sent its hello: it still waits, but is no longer idle (never evicted while it is checked). */
  helloReceived(conn: T): void {
    const e = this.entries.get(conn);
    if (e) e.idle = false;
  }

  /** `conn` authenticated: it no longer counts as waiting (it still counts for its address). */
  authenticated(conn: T): void {
    const e = this.entries.get(conn);
    if (!e || !e.waiting) return;
    e.waiting = false;
    this.addresses.get(e.address)!.waiting--;
    this.waitingTotal--;
  }

  /** `conn` closed (or was evicted): forget it. Idempotent. */
  release(conn: T): void {
    const e = this.entries.get(conn);
    if (!e) return;
    this.entries.delete(conn);
    const per = this.addresses.get(e.address)!;
    per.total--;
    if (e.waiting) {
      per.waiting--;
      this.waitingTotal--;
    }
    if (per.total === 0) this.addresses.delete(e.address);
  }

  /**
   * Among the addresses with the most idle waiting sockets, the oldest idle one (ties: the
   * oldest overall).
   */
  private oldestIdleOfBusiestAddress(): { conn: T; address: string } | null {
    const idle = new Map<string, number>();
    for (const e of this.entries.values()) if (e.waiting && e.idle) idle.set(e.address, (idle.get(e.address) ?? 0) + 1);
    let most = 0;
    for (const n of idle.values()) most = Math.max(most, n);
    if (most === 0) return null;
    for (const [conn, e] of this.entries)
      if (e.waiting && e.idle && idle.get(e.address) === most) return { conn, address: e.address };
    return null;
  }
}
