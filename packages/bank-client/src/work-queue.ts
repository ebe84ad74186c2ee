/**
 * The daemon's local work, one task at a time (training, evaluation, secure-aggregation steps,
 * saving a committed model): they share the model and the state directory, so they never overlap.
 * A task that fails is logged and handed to its `onFailure` (a round's task declines the round),
 * so one failure neither crashes the daemon nor blocks the tasks after it.
 */
import type { Logger } from 'pino';

export class WorkQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly logger: Logger) {}

  /**
   * Queues `task` after the tasks already queued.
   * @param what names the task in the log line of a failure ("fit of round 3").
   * @param onFailure told the error (already logged); its own errors are ignored.
   */
  add(what: string, task: () => Promise<void>, onFailure?: (err: unknown) => void): void {
    this.tail = this.tail.then(task).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ err: message }, `${what} failed`);
      try {
        onFailure?.(err);
      } catch {
        /* e.g. the connection to tell is gone: nothing more to do */
      }
    });
  }

  /** Resolves once every task queued so far has ended (never rejects). */
  settled(): Promise<void> {
    return this.tail;
  }
}
