/**
 * Reasons for an upload's alerts, computed after the upload is answered: one explanation
 * costs ~10–30 ms (integrated gradients of the 30-64-32 MLP against 8 centroids), so the
 * thousands of alerts of a large file are explained in the background, highest score
 * first, only while no request is being served (checked every ~10 ms slice), so uploads
 * and real-time scoring keep their speed. An alert opened before its turn is explained
 * on demand (plugins/alerts.ts).
 */
import type { ConsoleDb } from './db.js';
import type { ExplainFn } from './reasons.js';
import { Scorer, type LoadedModel } from './scorer.js';

interface Job {
  model: LoadedModel;
  explain: ExplainFn;
  names: readonly string[];
  items: { id: number; raw: Float32Array }[];
  next: number;
}

export class ExplainQueue {
  private jobs: Job[] = [];
  private running = false;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly db: ConsoleDb,
    private readonly onError: (err: unknown) => void,
    /** True while requests are in flight: the queue waits. */
    private readonly busy: () => boolean = () => false,
    private readonly sliceMs = 10,
    private readonly waitMs = 25,
  ) {}

  /** Queues alerts (in the order given: highest score first) for explanation with `explain`. */
  enqueue(
    model: LoadedModel,
    explain: ExplainFn,
    names: readonly string[],
    items: { id: number; raw: Float32Array }[],
  ): void {
    if (this.stopped || items.length === 0) return;
    this.jobs.push({ model, explain, names, items, next: 0 });
    if (!this.running) {
      this.running = true;
      setImmediate(() => this.work());
    }
  }

  /** Alerts still waiting for their reasons. */
  get pending(): number {
    return this.jobs.reduce((n, j) => n + j.items.length - j.next, 0);
  }

  /** Resolves when every queued alert has its reasons (or the queue stopped). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.jobs = [];
  }

  private work(): void {
    if (!this.stopped && this.jobs.length && this.busy()) {
      setTimeout(() => this.work(), this.waitMs);
      return;
    }
    const until = performance.now() + this.sliceMs;
    try {
      while (!this.stopped && this.jobs.length && performance.now() < until) {
        const job = this.jobs[0]!;
        const { id, raw } = job.items[job.next++]!;
        if (job.next >= job.items.length) this.jobs.shift();
        // Explained on demand meanwhile: nothing to do.
        if (this.db.hasExplanation(id)) continue;
        const scaled = raw.slice();
        Scorer.scale(job.model, scaled);
        this.db.setExplanation(id, job.explain(scaled, raw, job.names));
      }
    } catch (err) {
      this.onError(err);
    }
    if (!this.stopped && this.jobs.length) {
      setImmediate(() => this.work());
      return;
    }
    this.running = false;
    for (const w of this.waiters.splice(0)) w();
  }
}
