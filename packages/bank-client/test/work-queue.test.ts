/** The daemon's serial work queue: order, a failure that neither stops the queue nor rejects. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { WorkQueue } from '../src/work-queue.js';

describe('WorkQueue', () => {
  it('runs tasks one at a time in order; a failure is reported and the next task still runs', async () => {
    const q = new WorkQueue(pino({ level: 'silent' }));
    const log: string[] = [];
    const failures: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.add('first', async () => {
      log.push('first start');
      await gate;
      log.push('first end');
    });
    q.add(
      'second',
      async () => {
        log.push('second');
        throw new Error('boom');
      },
      (err) => failures.push((err as Error).message),
    );
    q.add(
      'third',
      async () => void log.push('third'),
      () => failures.push('third should not fail'),
    );
    q.add('fourth', async () => {
      throw new Error('no handler');
    });
    await Promise.resolve();
    expect(log).toEqual(['first start']); // the second waits for the first
    release();
    await expect(q.settled()).resolves.toBeUndefined();
    expect(log).toEqual(['first start', 'first end', 'second', 'third']);
    expect(failures).toEqual(['boom']);
  });

  it('ignores an onFailure that throws', async () => {
    const q = new WorkQueue(pino({ level: 'silent' }));
    q.add(
      'x',
      async () => {
        throw new Error('x');
      },
      () => {
        throw new Error('the connection is gone');
      },
    );
    let ran = false;
    q.add('y', async () => void (ran = true));
    await q.settled();
    expect(ran).toBe(true);
  });
});
