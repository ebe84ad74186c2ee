/**
 * The bank's side of analytics jobs without an aggregator: what the worker answers to each
 * request (aggregates only, or a decline naming the reason), its own privacy ledger and
 * budget, what it keeps from a job's result, and the console's view of it (real HTTP).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerFeaturesFromCsv, momentsOf, scalePoints, scalingOf } from '@finsecure/common/kmeans';
import type { AnalyticsClientMessage, AnalyticsServerMessage } from '@finsecure/common/protocol';
import { AnalyticsClientMessage as ClientSchema } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { AnalyticsWorker } from '../src/analytics/worker.js';
import { readJsonState, SEGMENTS_FILE, type StoredSegmentation } from '../src/analytics/state.js';
import { addPerson, cleanup, Client, startConsole, tempDir, type RunningConsole } from './helpers/console.js';

let dir: string;
const quiet = pino({ level: 'silent' });

/** Handbook-layout transactions: `customers` customers with a few rows each; customer 0 has a fraud. */
function handbook(file: string, customers: number, withId = true): void {
  const lines = [`TRANSACTION_ID,TX_DATETIME,${withId ? 'CUSTOMER_ID,' : ''}TERMINAL_ID,TX_AMOUNT,TX_FRAUD`];
  let t = 0;
  for (let c = 0; c < customers; c++)
    for (let j = 0; j < 4; j++) {
      const hour = String((c * 5 + j * 7) % 24).padStart(2, '0');
      const cells = [t++, `2018-04-${String(1 + ((c + j) % 28)).padStart(2, '0')} ${hour}:10:00`];
      if (withId) cells.push(`${1000 + c}`);
      cells.push(`${(c * 3 + j) % 17}`, (10 + c * 2.5 + j).toFixed(2), c === 0 && j === 0 ? 1 : 0);
      lines.push(cells.join(','));
    }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function worker(
  file: string,
  stateDir: string,
  o: { epsilonBudget?: number; segmentMinCount?: number; segmentExact?: boolean; logger?: Logger } = {},
) {
  return new AnalyticsWorker({
    bankId: 'bank-x',
    stateDir,
    dataFile: file,
    transactions: () => ({ data: new Float64Array(0), rows: 0, cols: 1 }),
    noiseRng: createRng(3),
    logger: o.logger ?? quiet,
    ...(o.epsilonBudget !== undefined ? { epsilonBudget: o.epsilonBudget } : {}),
    ...(o.segmentMinCount !== undefined ? { segmentMinCount: o.segmentMinCount } : {}),
    ...(o.segmentExact !== undefined ? { segmentExact: o.segmentExact } : {}),
  });
}

async function ask(w: AnalyticsWorker, msg: AnalyticsServerMessage): Promise<AnalyticsClientMessage[]> {
  const sent: AnalyticsClientMessage[] = [];
  await w.handle(msg, (m) => sent.push(ClientSchema.parse(m)));
  return sent;
}

const request = (task: Extract<AnalyticsServerMessage, { type: 'analytics_request' }>['task'], stageIndex = 0) =>
  ({ type: 'analytics_request', jobId: 1, stageIndex, stage: task.kind, deadlineInMs: 10_000, task }) as const;

beforeAll(() => {
  dir = tempDir('finsecure-analytics-worker-');
});
afterAll(() => cleanup(dir));

describe('analytics worker (bank side)', () => {
  it('answers moments and Lloyd statistics of its customers; declines below the minimum count', async () => {
    const file = path.join(dir, 'hb.csv');
    handbook(file, 12);
    // segmentExact, segmentMinCount 1: the exact answer, one-customer segment included (by default
    // the bank declines exact stages, and empties small segments: below).
    const w = worker(file, path.join(dir, 'state-a'), { segmentExact: true, segmentMinCount: 1 });
    const [m] = await ask(w, request({ kind: 'segment_moments', minCustomers: 5 }));
    const points = (await customerFeaturesFromCsv(file)).finish().points;
    expect(m).toEqual({
      type: 'analytics_answer',
      jobId: 1,
      stageIndex: 0,
      answer: { kind: 'segment_moments', ...momentsOf(points), periodDays: 15 },
    });
    const [few] = await ask(w, request({ kind: 'segment_moments', minCustomers: 13 }));
    expect(few).toMatchObject({
      type: 'analytics_decline',
      reason: 'bank bank-x has 12 customers, fewer than the minimum of 13 needed to release noised statistics',
    });
    const scaling = scalingOf(momentsOf(points));
    const centres = Array.from(scalePoints(points, scaling).data.subarray(0, 12)); // customers 0 and 1
    const [l] = await ask(
      w,
      request({ kind: 'segment_lloyd', minCustomers: 5, iteration: 1, scaling, k: 2, d: 6, centres }, 2),
    );
    if (l?.type !== 'analytics_answer' || l.answer.kind !== 'segment_lloyd') throw new Error(JSON.stringify(l));
    expect(l.answer.counts.reduce((a, b) => a + b, 0)).toBe(12);
    // Customer 0 (the one with a fraud) is its own centre.
    expect(l.answer.frauds).toEqual([1, 0]);
    expect(w.epsilon()).toBe(0);
  });

  it('by default declines the histogram and Lloyd stages of a job without DP, naming why; the moments are answered', async () => {
    const file = path.join(dir, 'hb-default.csv');
    handbook(file, 12);
    const w = worker(file, path.join(dir, 'state-default'));
    const [m] = await ask(w, request({ kind: 'segment_moments', minCustomers: 5 }));
    expect(m?.type).toBe('analytics_answer');
    const points = (await customerFeaturesFromCsv(file)).finish().points;
    const scaling = scalingOf(momentsOf(points));
    const centres = Array.from(scalePoints(points, scaling).data.subarray(0, 12));
    const box = { lo: Array(6).fill(-3), hi: Array(6).fill(3) };
    for (const task of [
      { kind: 'segment_histogram' as const, minCustomers: 5, scaling, box, bins: 2, noiseMultiplier: 0 },
      { kind: 'segment_lloyd' as const, minCustomers: 5, iteration: 1, scaling, k: 2, d: 6, centres },
    ]) {
      const [d] = await ask(w, request(task));
      expect(d?.type === 'analytics_decline' && d.reason).toMatch(
        /^bank bank-x answers segmentation stages only with differential privacy, and this job has none/,
      );
    }
    // With the job's DP, the same Lloyd stage is answered.
    const privacy = { clip: 4, noiseMultiplier: 2 };
    const [l] = await ask(
      w,
      request({ kind: 'segment_lloyd', minCustomers: 5, iteration: 1, scaling, k: 2, d: 6, centres, privacy }),
    );
    expect(l?.type).toBe('analytics_answer');
  });

  it('with exact answers allowed, releases a segment of fewer than 10 customers as empty', async () => {
    const file = path.join(dir, 'hb-aimed.csv');
    handbook(file, 12);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const w = worker(file, path.join(dir, 'state-aimed'), { logger, segmentExact: true });
    const points = (await customerFeaturesFromCsv(file)).finish().points;
    const scaling = scalingOf(momentsOf(points));
    // Centres at customers 0 and 1 (the aggregator chooses them): customer 1's segment holds it alone.
    const centres = Array.from(scalePoints(points, scaling).data.subarray(0, 12));
    const [l] = await ask(
      w,
      request({ kind: 'segment_lloyd', minCustomers: 5, iteration: 1, scaling, k: 2, d: 6, centres }),
    );
    if (l?.type !== 'analytics_answer' || l.answer.kind !== 'segment_lloyd') throw new Error(JSON.stringify(l));
    expect(l.answer.counts).toEqual([11, 0]);
    expect(l.answer.sums.slice(6, 12)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(l.answer.sums.slice(0, 6).some((v) => v !== 0)).toBe(true);
    expect(l.answer.frauds).toEqual([1, 0]);
    // Said locally, with what was held back.
    const said = lines.map((x) => JSON.parse(x) as { msg: string; segments?: number; customers?: number });
    expect(said).toContainEqual(
      expect.objectContaining({
        segments: 1,
        customers: 1,
        msg: expect.stringMatching(/fewer than 10 customers as empty/),
      }),
    );
  });

  it("declines the exact moments below its own segmentMinCount, whatever the job's minCustomers", async () => {
    const file = path.join(dir, 'hb-six.csv');
    handbook(file, 6);
    const [d] = await ask(
      worker(file, path.join(dir, 'state-six')),
      request({ kind: 'segment_moments', minCustomers: 1 }),
    );
    expect(d).toMatchObject({
      type: 'analytics_decline',
      reason:
        'bank bank-x has 6 customers, fewer than the minimum of 10 needed to release exact feature moments (segmentMinCount)',
    });
    const [m] = await ask(
      worker(file, path.join(dir, 'state-six-1'), { segmentMinCount: 6 }),
      request({ kind: 'segment_moments', minCustomers: 1 }),
    );
    expect(m?.type).toBe('analytics_answer');
  });

  it('a file without CUSTOMER_ID: every segmentation stage is declined naming the file and column, not its path', async () => {
    const file = path.join(dir, 'no-ids.csv');
    handbook(file, 5, false);
    const [d] = await ask(
      worker(file, path.join(dir, 'state-b')),
      request({ kind: 'segment_moments', minCustomers: 1 }),
    );
    expect(d?.type).toBe('analytics_decline');
    // The file's base name, line and column, never its path or a cell (src/outward.ts).
    expect(d?.type === 'analytics_decline' && d.reason).toBe(
      `computing customer features failed: no-ids.csv, line 1, column "CUSTOMER_ID": a data error; the details are in the bank's log`,
    );
  });

  it('records each DP release in its own ledger first, and declines over its budget', async () => {
    const file = path.join(dir, 'hb.csv');
    const w = worker(file, path.join(dir, 'state-c'), { epsilonBudget: 4 });
    const points = (await customerFeaturesFromCsv(file)).finish().points;
    const scaling = scalingOf(momentsOf(points));
    const task = {
      kind: 'segment_histogram' as const,
      minCustomers: 1,
      scaling,
      box: { lo: Array(6).fill(-3), hi: Array(6).fill(3) },
      bins: 2,
      noiseMultiplier: 2,
    };
    const [h] = await ask(w, request(task));
    if (h?.type !== 'analytics_answer' || h.answer.kind !== 'segment_histogram') throw new Error(JSON.stringify(h));
    expect(h.answer.counts.some((c) => !Number.isInteger(c))).toBe(true);
    const spent = w.epsilon();
    expect(spent).toBeGreaterThan(0);
    let declined: AnalyticsClientMessage | undefined;
    for (let i = 0; i < 50 && !declined; i++) {
      const [x] = await ask(w, request(task, i + 1));
      if (x?.type === 'analytics_decline') declined = x;
    }
    expect(declined?.type === 'analytics_decline' && declined.reason).toMatch(/privacy budget.*over 4 /);
    expect(w.epsilon()).toBeLessThanOrEqual(4);
  });
});

describe('console Segments and consortium threshold', () => {
  let c: RunningConsole;
  let ana: Client;
  beforeAll(async () => {
    c = await startConsole(path.join(dir, 'state-console'));
    await addPerson(c, 'ana', 'analyst');
    ana = new Client(c.url);
    await ana.login('ana');
  }, 60_000);
  afterAll(async () => c?.close());

  it('shows nothing before a job, then this bank’s customers by segment under pseudonyms', async () => {
    expect((await ana.get('/api/segments')).body).toEqual({ segmentation: null });
    expect((await ana.get('/api/consortium-threshold')).body).toEqual({ threshold: null });
    const file = path.join(dir, 'hb.csv');
    const w = worker(file, c.stateDir);
    const points = (await customerFeaturesFromCsv(file)).finish().points;
    const scaling = scalingOf(momentsOf(points));
    const centres = Array.from(scalePoints(points, scaling).data.subarray(0, 12));
    await ask(w, {
      type: 'analytics_result',
      jobId: 7,
      result: {
        kind: 'segmentation',
        features: ['a', 'b', 'c', 'd', 'e', 'f'],
        scaling,
        k: 2,
        d: 6,
        centres,
        names: ['x', 'y'],
      },
    });
    await ask(w, {
      type: 'analytics_result',
      jobId: 8,
      result: { kind: 'calibration', contamination: 0.02, threshold: 0.61, banks: 3, accounts: 900 },
    });
    const kept = readJsonState<StoredSegmentation>(c.stateDir, SEGMENTS_FILE)!;
    expect(kept.segments.map((s) => s.customers.length).reduce((a, b) => a + b)).toBe(12);
    const seg = await ana.get('/api/segments');
    expect(seg.status).toBe(200);
    expect(seg.body.segmentation).toMatchObject({ jobId: 7, customers: 12 });
    const listed = (seg.body.segmentation.segments as { customers: string[]; count: number; name: string }[]).flatMap(
      (s) => s.customers,
    );
    expect(listed).toHaveLength(12);
    expect(listed.every((p) => /^cus_[0-9a-f]{32}$/.test(p))).toBe(true);
    expect(JSON.stringify(seg.body)).not.toMatch(/\b100\d\b/); // no raw customer id (1000…1011)
    const thr = await ana.get('/api/consortium-threshold');
    expect(thr.body.threshold).toMatchObject({ jobId: 8, threshold: 0.61, contamination: 0.02, banks: 3 });
    expect((await new Client(c.url).get('/api/segments')).status).toBe(401);
  });
});
