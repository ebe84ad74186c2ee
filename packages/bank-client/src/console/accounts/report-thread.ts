/**
 * Runs the console's report jobs on a worker thread (report-worker.ts), one at a time in
 * arrival order, so that a long report (an LOF over thousands of accounts takes seconds) never
 * holds the event loop that serves every other analyst and, under `start --console-port`, the
 * daemon's rounds and heartbeats. Each job gets a fresh thread: nothing of one file's data
 * stays in memory after its report.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '@finsecure/common/threads';
import { receiveError, type ReportJob, type ReportResult, type WorkerMessage } from './report-job.js';

export interface ReportThreadHooks {
  /** Called when the job's thread has started it (after any wait for the jobs before it). */
  onStarted?: () => void;
}

export class ReportThreads {
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs `job` after the jobs queued before it; resolves with its result, or rejects with its
   * error (DataError naming file, line and column; RangeError for a bad setting), or an Error
   * when the thread fails to start or dies.
   */
  run<J extends ReportJob>(job: J, hooks: ReportThreadHooks = {}): Promise<ReportResult<J>> {
    const next = this.queue.then(() => runOnThread(job, hooks));
    this.queue = next.catch(() => undefined);
    return next as Promise<ReportResult<J>>;
  }
}

function runOnThread(job: ReportJob, hooks: ReportThreadHooks): Promise<unknown> {
  const entry = workerEntry(import.meta.url, 'report-worker');
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    // execArgv []: the parent's flags are not all valid in a worker, and it needs none.
    const worker = new Worker(entry.file, { workerData: job, eval: entry.eval, execArgv: [] });
    worker.on('message', (m: WorkerMessage) => {
      if ('started' in m) hooks.onStarted?.();
      else if ('ready' in m) settle(() => reject(new Error(`the report thread failed to start: ${m.error}`)));
      else if (m.ok) settle(() => resolve(m.result));
      else settle(() => reject(receiveError(m.error)));
    });
    worker.once('error', (err) => settle(() => reject(new Error(`the report thread failed: ${err.message}`))));
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`the report thread exited with code ${code} before its result`))),
    );
  });
}
