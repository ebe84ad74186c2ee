/**
 * A report job as it crosses to the report thread and back (report-thread.ts ↔ report-worker.ts):
 * plain data only (structured clone), errors as their name, message and place so that the
 * console answers a bad cell with its file, line and column as before.
 */
import { DataError } from '@finsecure/common/data';
import type { AccountReportRun, AccountReportSettings } from '../../account-report.js';
import type { TransactionReport, TransactionScoreOptions } from './transactions.js';

export type ReportJob =
  | { kind: 'accounts'; file: string; settings: AccountReportSettings }
  | { kind: 'transactions'; file: string; options: TransactionScoreOptions };

export type ReportResult<J extends ReportJob> = J extends { kind: 'accounts' } ? AccountReportRun : TransactionReport;

export interface SentError {
  name: string;
  message: string;
  file?: string;
  line?: number;
  column?: string;
}

/** What the worker posts: first `started`, then the outcome. */
export type WorkerMessage =
  | { started: true }
  | { ok: true; result: AccountReportRun | TransactionReport }
  | { ok: false; error: SentError }
  | { ready: false; error: string };

export function sendError(err: unknown): SentError {
  if (err instanceof DataError)
    return {
      name: 'DataError',
      message: err.message,
      ...(err.file !== undefined ? { file: err.file } : {}),
      ...(err.line !== undefined ? { line: err.line } : {}),
      ...(err.column !== undefined ? { column: err.column } : {}),
    };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** The error again, of the class the routes tell apart (DataError: 400 bad_file; RangeError: 400). */
export function receiveError(e: SentError): Error {
  if (e.name === 'DataError') return new DataError(e.message, e.file, e.line, e.column);
  if (e.name === 'RangeError') return new RangeError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
