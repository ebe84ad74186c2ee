/**
 * The SQLite store's analytics jobs table: one row per job, its params, stages and result as JSON.
 * `stmt` is the store's prepared-statement cache (it writes waiting audit appends first).
 */
import type Database from 'better-sqlite3';
import type { JobRecord } from './types.js';
import { checkBound, checkLimit } from './validate.js';

export class SqliteJobs {
  constructor(private readonly stmt: (sql: string) => Database.Statement) {}

  save(job: JobRecord): void {
    this.stmt(
      `INSERT OR REPLACE INTO jobs (id, kind, status, requested_by, requested_at, started_at, ended_at, params, stages, result, failure_reason)
       VALUES (@id, @kind, @status, @requestedBy, @requestedAt, @startedAt, @endedAt, @params, @stages, @result, @failureReason)`,
    ).run(jobParams(job));
  }

  get(id: number): JobRecord | null {
    const row = this.stmt('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? jobFromRow(row) : null;
  }

  /** Newest first; `before` an id bound, `limit` at most that many (validated as the other lists). */
  list(opts: { limit?: number; before?: number } = {}): JobRecord[] {
    const before = checkBound('before', opts.before);
    const limit = checkLimit(opts.limit) ?? -1;
    const where = before === undefined ? '' : 'WHERE id < @before';
    const rows = this.stmt(`SELECT * FROM jobs ${where} ORDER BY id DESC LIMIT @limit`).all({
      limit,
      ...(before === undefined ? {} : { before }),
    }) as JobRow[];
    return rows.map(jobFromRow);
  }
}

/** A row of the jobs table. */
interface JobRow {
  id: number;
  kind: JobRecord['kind'];
  status: JobRecord['status'];
  requested_by: string;
  requested_at: number;
  started_at: number | null;
  ended_at: number | null;
  params: string;
  stages: string;
  result: string | null;
  failure_reason: string | null;
}

function jobFromRow(r: JobRow): JobRecord {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    params: JSON.parse(r.params) as JobRecord['params'],
    stages: JSON.parse(r.stages) as JobRecord['stages'],
    result: r.result === null ? null : (JSON.parse(r.result) as JobRecord['result']),
    failureReason: r.failure_reason,
  };
}

/** A job as the jobs table's named parameters (its JSON columns serialised). */
function jobParams(job: JobRecord): Record<string, unknown> {
  return {
    ...job,
    params: JSON.stringify(job.params),
    stages: JSON.stringify(job.stages),
    result: job.result === null ? null : JSON.stringify(job.result),
  };
}
