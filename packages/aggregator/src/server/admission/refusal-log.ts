/**
 * Writes refusals and protocol violations of bank sockets to the audit log and the
 * service log, one entry per kind, address and window plus one summary with a count
 * (RepeatAggregator). The bank socket plugin owns the timer that calls `flush`, and calls
 * `drain` at shutdown; audit and logger are injected, so tests can use a real store.
 */
import type { Logger } from 'pino';
import { RepeatAggregator, type RepeatSummary } from './repeats.js';

export interface RefusalLogDeps {
  audit: (type: string, actor: string, details: Record<string, unknown>) => Promise<void>;
  logger: Logger;
  /** Aggregation window, ms. */
  windowMs: number;
  now: () => number;
}

export interface Refusal {
  /** Audit type, e.g. `auth.failed`, `connection.refused`, `hello.timeout`, `frame.rejected`. */
  type: string;
  actor: string;
  /** Remote address key (admission/address.ts). */
  remote: string;
  /** What kind of refusal (a fixed word, not free text: free text would defeat aggregation). */
  category: string;
  /** Human-readable reason, as sent to the peer. */
  reason: string;
  /** The log message of the first entry. */
  message: string;
  details?: Record<string, unknown>;
  /** Log only (e.g. socket errors): no audit entry. */
  logOnly?: boolean;
}

export class RefusalLog {
  private readonly repeats: RepeatAggregator;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RefusalLogDeps) {
    this.repeats = new RepeatAggregator({ windowMs: deps.windowMs });
  }

  /** Records `r`: written now if it is the first of its kind in the window, otherwise counted. */
  report(r: Refusal): void {
    const details = { remote: r.remote, category: r.category, reason: r.reason, ...r.details };
    const first = this.repeats.observe(
      {
        // The actor includes the bank id a refused hello claimed: tries for different ids are different
        // events (each shows in the audit); their number per address is bounded by the failed-login limit.
        key: `${r.logOnly ? 'log' : 'audit'}|${r.type}|${r.actor}|${r.remote}|${r.category}`,
        type: r.type,
        actor: r.actor,
        details: { ...details, message: r.message, logOnly: !!r.logOnly },
        // The precise reason may vary within a category (e.g. which check a bad hello failed): keep a few.
        sample: r.reason.slice(0, 200),
      },
      this.deps.now(),
    );
    if (!first) return;
    this.deps.logger.warn({ actor: r.actor, ...details }, r.message);
    if (!r.logOnly) this.write(r.type, r.actor, details);
  }

  /** Writes the summaries of the windows closed by now. */
  flush(): Promise<void> {
    for (const s of this.repeats.due(this.deps.now())) this.summarise(s);
    return this.pending;
  }

  /** Closes every window and writes their summaries (shutdown). */
  drain(): Promise<void> {
    for (const s of this.repeats.drain()) this.summarise(s);
    return this.pending;
  }

  private summarise(s: RepeatSummary): void {
    const { message, logOnly, ...details } = s.details as Record<string, unknown> & {
      message: string;
      logOnly: boolean;
    };
    const summary = {
      ...details,
      repeats: s.repeats,
      from: new Date(s.firstAt).toISOString(),
      to: new Date(s.lastAt).toISOString(),
      windowMs: this.deps.windowMs,
      ...(s.samples.length > 1 || s.moreSamples ? { reasons: s.samples, moreReasons: s.moreSamples } : {}),
    };
    const actor = s.actor;
    this.deps.logger.warn(
      { actor, ...summary },
      `${message}: ${s.repeats} more time${s.repeats === 1 ? '' : 's'} within ${this.deps.windowMs} ms`,
    );
    if (!logOnly) this.write(s.type, actor, summary);
  }

  /** Audit writes in order, never rejecting (a failed write is logged, not thrown at a socket). */
  private write(type: string, actor: string, details: Record<string, unknown>): void {
    this.pending = this.pending.then(() =>
      this.deps.audit(type, actor, details).catch((err: Error) => {
        this.deps.logger.error({ err: err.message, type }, 'could not write an audit entry');
      }),
    );
  }
}
