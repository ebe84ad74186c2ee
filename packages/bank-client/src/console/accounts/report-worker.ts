/**
 * The report thread's body (started by report-thread.ts): runs one job, posts `started`, then
 * the result or the error. A report's detector is seconds of synchronous work on a large file
 * (LOF is quadratic in the accounts); here it does not hold the console's, or the daemon's,
 * event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runAccountReport } from '../../account-report.js';
import { sendError, type ReportJob, type WorkerMessage } from './report-job.js';
import { scoreTransactions } from './transactions.js';

const port = parentPort!;
const job = workerData as ReportJob;
const post = (m: WorkerMessage) => port.postMessage(m);
post({ started: true });
try {
  const result =
    job.kind === 'accounts'
      ? await runAccountReport(job.file, job.settings)
      : await scoreTransactions(job.file, job.options);
  post({ ok: true, result });
} catch (err) {
  post({ ok: false, error: sendError(err) });
}
