/**
 * Turns floods of identical events into one entry each plus one summary with a count.
 *
 * The first event of a kind (its `key`: e.g. type, remote address and category) in a window
 * is reported as it happens; later ones with the same key until the window closes are only
 * counted, and when the window closes (or at shutdown) ONE summary carries their number,
 * the time span and a few samples of what varied (e.g. the bank ids claimed). The next
 * event with that key after the window opens a new window and is reported again. So an
 * address refused 91 times a second costs one audit row and one log line per window, not 91
 * per second, and nothing is lost: the count says how many there were.
 *
 * Pure: the caller passes `now` (ms) and writes what `observe`, `due` and `drain` return.
 * Memory is bounded by `maxKeys`: beyond it the oldest window is closed early (its summary
 * comes out of the next `due`).
 */

export interface RepeatEvent {
  /** What makes two events "the same" (kept short: type, address, category). */
  key: string;
  /** Reported with the first event and copied into the summary. */
  type: string;
  actor: string;
  details: Record<string, unknown>;
  /** Values that may vary between repeats, kept as up to `maxSamples` distinct samples. */
  sample?: string;
}

/** One summary: `repeats` events after the first one, between `firstAt` and `lastAt`. */
export interface RepeatSummary {
  key: string;
  type: string;
  actor: string;
  details: Record<string, unknown>;
  repeats: number;
  firstAt: number;
  lastAt: number;
  samples: string[];
  /** Distinct samples seen beyond `samples` (not kept). */
  moreSamples: number;
}

interface Open {
  event: RepeatEvent;
  start: number;
  repeats: number;
  lastAt: number;
  samples: Set<string>;
  moreSamples: number;
}

export interface RepeatOptions {
  windowMs: number;
  maxKeys?: number;
  maxSamples?: number;
}

export class RepeatAggregator {
  private readonly open = new Map<string, Open>();
  private readonly closedEarly: RepeatSummary[] = [];
  private readonly maxKeys: number;
  private readonly maxSamples: number;

  constructor(private readonly opts: RepeatOptions) {
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.maxSamples = opts.maxSamples ?? 10;
  }

  /** True when `event` is the first of its window (report it now); false when it was counted. */
  observe(event: RepeatEvent, now: number): boolean {
    const o = this.open.get(event.key);
    if (o && now < o.start + this.opts.windowMs && now >= o.start) {
      o.repeats++;
      o.lastAt = now;
      if (event.sample !== undefined && !o.samples.has(event.sample)) {
        if (o.samples.size < this.maxSamples) o.samples.add(event.sample);
        else o.moreSamples++;
      }
      return false;
    }
    if (o) this.close(event.key, o, this.closedEarly);
    if (this.open.size >= this.maxKeys) {
      const [oldestKey, oldest] = this.open.entries().next().value as [string, Open];
      this.close(oldestKey, oldest, this.closedEarly);
    }
    const samples = new Set<string>();
    if (event.sample !== undefined) samples.add(event.sample);
    this.open.set(event.key, { event, start: now, repeats: 0, lastAt: now, samples, moreSamples: 0 });
    return true;
  }

  /** Summaries of the windows closed at `now` (only those that counted repeats). */
  due(now: number): RepeatSummary[] {
    const out = this.closedEarly.splice(0);
    for (const [key, o] of this.open) if (now >= o.start + this.opts.windowMs || now < o.start) this.close(key, o, out);
    return out;
  }

  /** Closes every window (shutdown): summaries of those that counted repeats. */
  drain(): RepeatSummary[] {
    const out = this.closedEarly.splice(0);
    for (const [key, o] of this.open) this.close(key, o, out);
    return out;
  }

  /** Windows open (for tests). */
  get size(): number {
    return this.open.size;
  }

  private close(key: string, o: Open, out: RepeatSummary[]): void {
    this.open.delete(key);
    if (o.repeats === 0) return;
    out.push({
      key,
      type: o.event.type,
      actor: o.event.actor,
      details: o.event.details,
      repeats: o.repeats,
      firstAt: o.start,
      lastAt: o.lastAt,
      samples: [...o.samples],
      moreSamples: o.moreSamples,
    });
  }
}
