/** The MongoDB store's analytics jobs (the counterpart of sqlite-jobs.ts): one document per job. */
import type { Collection } from 'mongodb';
import type { JobRecord } from './types.js';
import { checkBound, checkLimit } from './validate.js';

export class MongoJobs {
  constructor(private readonly jobs: Collection<JobRecord>) {}

  async save(job: JobRecord): Promise<void> {
    await this.jobs.replaceOne({ id: job.id }, { ...job }, { upsert: true });
  }

  async get(id: number): Promise<JobRecord | null> {
    return this.jobs.findOne({ id }, { projection: { _id: 0 } });
  }

  async list(opts: { limit?: number; before?: number } = {}): Promise<JobRecord[]> {
    const before = checkBound('before', opts.before);
    const limit = checkLimit(opts.limit);
    if (limit === 0) return [];
    const cursor = this.jobs.find(before === undefined ? {} : { id: { $lt: before } }, { projection: { _id: 0 } });
    cursor.sort({ id: -1 });
    if (limit !== undefined) cursor.limit(limit);
    return cursor.toArray();
  }
}
