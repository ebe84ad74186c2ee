/**
 * Repeated identical audit events become one entry with a count. Each audit append is
 * an fsync'd write on the federation's serial queue, so a bank (or an anonymous client)
 * repeating one event thousands of times stalls every round behind it (issue 12, A4 and
 * B9). The audit log must still say that it happened, and how often.
 *
 * Events with the same (type, actor, key) — key defaults to the event's reason — within
 * `windowMs` of the first one are coalesced: the first is flushed at once (count 1); the
 * ones after it are counted, and when the window ends one summary entry is flushed with
 * their count and the time of the first and last. A window with no repeats flushes
 * nothing more. The same pattern as syslog's "last message repeated N times" (rsyslog's
 * $RepeatedMsgReduction), but with a bounded delay.
 *
 * Reasons may be attacker-chosen (a `decline` carries free text), which would make every
 * event distinct: callers should pass a `key` that the sender cannot vary (e.g. the round
 * id), and at most `maxKeys` windows are open at once; beyond that, events fall into one
 * window per type whose summary says the actors or reasons varied.
 *
 * Pure apart from the injected clock's timers; `flush` is called synchronously (the
 * federation puts the audit write on its queue).
 */

export interface AuditEvent {
  type: string;
  actor: string;
  /** Human-readable reason; the default coalescing key. */
  reason: string;
  /** What makes two events "identical" beside type and actor (default: reason). */
  key?: string;
  /** Further details of the FIRST event (kept in its entry and the summary). */
  details?: Record<string, unknown>;
}

export interface CoalescedEntry {
  type: string;
  actor: string;
  /** The event's details plus `reason`, and for a summary `count`, `firstAt`, `lastAt`, `windowMs`. */
  details: Record<string, unknown>;
  /** Events this entry stands for: 1 for the first, the repeats for a summary. */
  count: number;
  summary: boolean;
}

export interface AuditCoalescerOptions {
  /** Length of a window in ms. Default 10,000. */
  windowMs?: number;
  /** Windows open at once before falling back to one per type. Default 1,000. */
  maxKeys?: number;
  clock: { now(): number; setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  flush: (entry: CoalescedEntry) => void;
}

interface Window {
  event: AuditEvent;
  firstAt: number;
  repeats: number;
  repeatFirstAt: number;
  lastAt: number;
  varied: boolean;
  timer: unknown;
}

export class AuditCoalescer {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxKeys: number;

  /** Throws RangeError for a window or key limit that is not a positive number. */
  constructor(private readonly opts: AuditCoalescerOptions) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.maxKeys = opts.maxKeys ?? 1000;
    if (!(this.windowMs > 0)) throw new RangeError(`audit coalescing windowMs must be > 0, got ${this.windowMs}`);
    if (!(this.maxKeys >= 1)) throw new RangeError(`audit coalescing maxKeys must be ≥ 1, got ${this.maxKeys}`);
  }

  /** Records one event: flushed now if it opens a window, counted otherwise. */
  record(event: AuditEvent): void {
    const now = this.opts.clock.now();
    let id = JSON.stringify([event.type, event.actor, event.key ?? event.reason]);
    let varied = false;
    if (!this.windows.has(id) && this.windows.size >= this.maxKeys) {
      // Overflow: one window per type, so neither a chosen reason nor a chosen actor (a
      // refused hello's claimed id) can open windows without bound.
      id = JSON.stringify([event.type, null, null]);
      varied = true;
    }
    const w = this.windows.get(id);
    if (w) {
      if (w.repeats === 0) w.repeatFirstAt = now;
      w.repeats++;
      w.lastAt = now;
      w.varied ||= varied;
      return;
    }
    this.windows.set(id, {
      event,
      firstAt: now,
      repeats: 0,
      repeatFirstAt: now,
      lastAt: now,
      varied,
      timer: this.opts.clock.setTimeout(() => this.close(id), this.windowMs),
    });
    this.opts.flush({
      type: event.type,
      actor: event.actor,
      details: { ...event.details, reason: event.reason },
      count: 1,
      summary: false,
    });
  }

  /** Closes every open window now (at shutdown), flushing their summaries. */
  flushAll(): void {
    for (const id of [...this.windows.keys()]) {
      this.opts.clock.clearTimeout(this.windows.get(id)!.timer);
      this.close(id);
    }
  }

  /** Windows open now. */
  get open(): number {
    return this.windows.size;
  }

  private close(id: string): void {
    const w = this.windows.get(id);
    if (!w) return;
    this.windows.delete(id);
    if (w.repeats === 0) return;
    this.opts.flush({
      type: w.event.type,
      actor: w.event.actor,
      details: {
        ...w.event.details,
        reason: w.varied
          ? `${w.event.reason} (and other actors or reasons: too many distinct events to tell apart)`
          : w.event.reason,
        count: w.repeats,
        firstAt: w.repeatFirstAt,
        lastAt: w.lastAt,
        windowMs: this.windowMs,
      },
      count: w.repeats,
      summary: true,
    });
  }
}
