/**
 * Coalesced audit entries for rejected session cookies. A request with an unknown or ended
 * session id needs no credentials at all, and each one used to append a permanent, hash-chained
 * `auth.session_rejected` entry: 300 requests with junk cookies were 300 entries. The audit log
 * must still say that it happened, from where and how often, so rejections are coalesced the way
 * the aggregator's bank-socket refusals are (server/admission/refusal-log.ts over repeats.ts): per
 * client address and window, the first rejection is written at once, the later ones are only
 * counted, and when the window closes one summary entry carries their number and time span.
 *
 * Bounded: at most `maxKeys` addresses (default 16) have a window open; rejections from further
 * addresses share one overflow window (address "other addresses"), whose summary also counts the
 * addresses and names the first 32 distinct (caller, reason) pairs with their counts. So a window's
 * worth of rejections is at most 2·(maxKeys + 1) entries, whatever the number of addresses a client controls (an IPv6 /48 is 65,536 /64s; with 1,000 windows one client wrote
 * about 1,000 entries a minute). The overflow is where a legitimate expired cookie lands during such
 * a flood: still counted, with the number of addresses. IPv6
 * clients count by their /64 (an end site holds a whole /64: one address per request is cheap),
 * IPv4-mapped IPv6 as the IPv4 address, as the aggregator's admission/address.ts does.
 *
 * The same coalescing serves the changes a signed-in caller's role does not allow (deps.ts
 * refusedActions, type `auth.forbidden`): there a window is per caller, address and route, and the
 * entries carry the caller as their actor.
 *
 * Entries (type `auth.session_rejected`, actor `anonymous`):
 *   first:   { ip, reason }
 *   summary: { ip, reason, repeats, from, to, windowMs }  (repeats after the first; ISO times)
 *
 * Summaries are written when a later rejection finds the window closed, by a timer at the window's
 * end (injected; Node's, unref'd, by default), and by `drain()` at shutdown. A write the timer
 * makes that fails is dropped silently: the core has no logger, and the summary is only a count.
 */
import { addressKey } from './address.js';
import type { AuditInput } from './deps.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface RejectedSessionLogOptions {
  audit: (entry: Omit<AuditInput, 'at'>) => Promise<void>;
  /** The entries' type (default `auth.session_rejected`; the role refusals use `auth.forbidden`). */
  type?: string;
  now: () => number;
  windowMs: number;
  /** Addresses with a window open at once (default 16). */
  maxKeys?: number;
  timers?: Timers;
}

interface Window {
  ip: string;
  actor: string;
  reason: string;
  start: number;
  repeats: number;
  lastAt: number;
  /** Distinct addresses counted (the overflow window only). */
  addresses: Set<string> | null;
  /** Distinct callers counted (the overflow window only). */
  actors: Set<string> | null;
  /**
   * The overflow window's first distinct (caller, reason) pairs and their counts, named in its
   * summary: without them a caller past the 16th in a minute was never named for what it tried.
   */
  named: Map<string, { actor: string; reason: string; count: number }> | null;
}

/** The overflow window's key and address (not a valid address, so no client can take it). */
const OVERFLOW = 'other addresses';
/** Distinct addresses the overflow window counts at most (beyond, "at least" this many). */
const MAX_COUNTED_ADDRESSES = 10_000;
/** Distinct (caller, reason) pairs the overflow window's summary names at most. */
export const MAX_NAMED_IN_OVERFLOW = 32;

/** Counts one refusal in an overflow window's named pairs (the first MAX_NAMED_IN_OVERFLOW of them). */
function nameIn(named: Window['named'], actor: string, reason: string): void {
  if (!named) return;
  const k = `${actor}\u0000${reason}`;
  const seen = named.get(k);
  if (seen) seen.count++;
  else if (named.size < MAX_NAMED_IN_OVERFLOW) named.set(k, { actor, reason, count: 1 });
}

/** The unit a client can cheaply multiply (address.ts addressKey), at most 64 characters. */
function clientAddress(ip: string): string {
  return addressKey(ip).slice(0, 64);
}

export class RejectedSessionLog {
  private readonly open = new Map<string, Window>();
  private readonly maxKeys: number;
  private readonly timers: Timers;
  private timer: unknown = null;
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly o: RejectedSessionLogOptions) {
    this.maxKeys = o.maxKeys ?? 16;
    this.timers = o.timers ?? NODE_TIMERS;
    if (!(o.windowMs > 0)) throw new RangeError(`rejected-session window must be > 0 ms, got ${o.windowMs}`);
  }

  /**
   * Records one refusal of `actor` (default `anonymous`: a rejected session cookie has no caller)
   * from `ip` for `reason`. A window is per caller, client address and reason. Resolves once its
   * entry is written when it is the first of its window (so the entry is in the log when the
   * refused request is answered); at once when it was only counted.
   */
  async record(ip: string, reason: string, actor = 'anonymous'): Promise<void> {
    const now = this.o.now();
    this.closeDue(now);
    const address = clientAddress(ip);
    let key = `${actor}\u0000${address}\u0000${reason}`;
    if (!this.open.has(key) && this.open.size >= this.maxKeys) key = OVERFLOW;
    const w = this.open.get(key);
    if (w && now >= w.start && now < w.start + this.o.windowMs) {
      w.repeats++;
      w.lastAt = now;
      if (w.addresses && w.addresses.size < MAX_COUNTED_ADDRESSES) w.addresses.add(address);
      if (w.actors && w.actors.size < MAX_COUNTED_ADDRESSES) w.actors.add(actor);
      nameIn(w.named, actor, reason);
      return this.writes;
    }
    if (w) this.close(key, w);
    const overflow = key === OVERFLOW;
    const ipShown = overflow ? OVERFLOW : address;
    const named: Window['named'] = overflow ? new Map() : null;
    nameIn(named, actor, reason);
    this.open.set(key, {
      ip: ipShown,
      actor,
      reason,
      start: now,
      repeats: 0,
      lastAt: now,
      addresses: overflow ? new Set([address]) : null,
      actors: overflow ? new Set([actor]) : null,
      named,
    });
    this.arm();
    return this.write(actor, { ip: ipShown, reason });
  }

  /** Closes every window and writes the summaries of those that counted repeats (shutdown). */
  drain(): Promise<void> {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    for (const [key, w] of [...this.open]) this.close(key, w);
    return this.writes;
  }

  /** Windows open (for tests). */
  get size(): number {
    return this.open.size;
  }

  /** Closes the windows that ended by `now` (a clock that went back closes them too). */
  private closeDue(now: number): void {
    for (const [key, w] of [...this.open]) if (now >= w.start + this.o.windowMs || now < w.start) this.close(key, w);
  }

  private close(key: string, w: Window): void {
    this.open.delete(key);
    if (w.repeats === 0) return;
    void this.write(w.actor, {
      ip: w.ip,
      reason: w.reason,
      repeats: w.repeats,
      ...(w.addresses ? { addresses: w.addresses.size } : {}),
      // The overflow window's entry names the caller that opened it; the count says if there were more.
      ...(w.actors && w.actors.size > 1 ? { actors: w.actors.size } : {}),
      // Who tried what, by caller and reason (the first MAX_NAMED_IN_OVERFLOW pairs), with counts.
      ...(w.named && w.named.size > 1 ? { named: [...w.named.values()] } : {}),
      from: new Date(w.start).toISOString(),
      to: new Date(w.lastAt).toISOString(),
      windowMs: this.o.windowMs,
    }).catch(() => {});
  }

  /** One timer, at the end of the oldest open window (windows are all as long: the first in the map ends first). */
  private arm(): void {
    if (this.timer !== null) return;
    const first = this.open.values().next();
    if (first.done) return;
    const wait = Math.max(1, first.value.start + this.o.windowMs - this.o.now());
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = null;
        this.closeDue(this.o.now());
        // An injected clock that has not moved would leave the window open: look again in a window.
        this.arm();
      },
      Math.min(wait, this.o.windowMs),
    );
  }

  /** Audit writes in order. */
  private write(actor: string, details: Record<string, unknown>): Promise<void> {
    const type = this.o.type ?? 'auth.session_rejected';
    const next = this.writes.then(() => this.o.audit({ type, actor, details }));
    this.writes = next.catch(() => {});
    return next;
  }
}
