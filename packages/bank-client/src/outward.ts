/**
 * What a bank tells the aggregator about a failure of its own (a decline's reason): the kind of
 * failure and where, never the local message. Messages of local errors hold the bank's paths and
 * can quote a file's cells (a data error names the value it could not read), which must not leave
 * the bank: the full message goes to the bank's own log, at the call site.
 */
import path from 'node:path';
import { DataError } from '@finsecure/common/data';

/**
 * "<what> failed: <file's base name>, line <n>, column "<c>": a data error; the details are in
 * the bank's log" for a DataError (file, line and column are the bank's schema, not its data);
 * "<what> failed (<error name>); the details are in the bank's log" for anything else.
 * @param what the task, as the aggregator knows it ("local training", "segment_lloyd")
 */
export function outwardFailure(what: string, err: unknown): string {
  const tail = "the details are in the bank's log";
  if (err instanceof DataError) {
    const where = [
      err.file !== undefined ? path.basename(err.file) : null,
      err.line !== undefined ? `line ${err.line}` : null,
      err.column !== undefined ? `column "${err.column}"` : null,
    ].filter((x) => x !== null);
    return `${what} failed: ${where.length ? `${where.join(', ')}: ` : ''}a data error; ${tail}`.slice(0, 500);
  }
  const name = err instanceof Error && /^[A-Za-z]{1,40}$/.test(err.name) ? err.name : 'Error';
  return `${what} failed (${name}); ${tail}`;
}
