/**
 * Calibration jobs over the network (issue 18 item 4) and jobs beside training rounds: three
 * real bank clients send histograms of their IsolationForest account scores; the consortium
 * threshold equals the quantile of the pooled histogram of every bank's scores, and each bank
 * keeps it. A job requested while a training round is in flight waits for the round to end,
 * and no round starts while the job runs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import type { RoundRecord } from '@finsecure/common/api';
import { bankAnomalyScores, scoreHistogram } from '../../bank-client/src/analytics/scores.js';
import {
  CONSORTIUM_THRESHOLD_FILE,
  readJsonState,
  type StoredThreshold,
} from '../../bank-client/src/analytics/state.js';
import { histogramThreshold } from '../src/federation/jobs/calibration.js';
import type { JobRecord } from '../src/federation/jobs/types.js';
import type { RunningAggregator } from '../src/index.js';
import {
  api,
  cleanup,
  createBank,
  listRounds,
  startBank,
  startTestAggregator,
  tempDir,
  waitFor,
  waitRounds,
} from './helpers/federation.js';
import { runJob, waitJob, writeCustomerShard } from './helpers/customers.js';

let dir: string;
let agg: RunningAggregator;
const banks: BankClient[] = [];
const files: string[] = [];
const states: string[] = [];
const ids = ['bank-a', 'bank-b', 'bank-c'];

beforeAll(async () => {
  dir = tempDir('finsecure-caljobs-');
  agg = await startTestAggregator(dir, { rules: { rounds: 3, minBanks: 3, quorum: 3 } as never });
  for (const [i, id] of ids.entries()) {
    const file = path.join(dir, `${id}.csv`);
    writeCustomerShard(file, { seed: 21 + i, rows: 400 + 100 * i, customers: 40 + 15 * i });
    files.push(file);
    states.push(path.join(dir, `state-${id}`));
    // calibrationExact: these banks answer calibration jobs (by default they decline them:
    // bank-client analytics-egress.test.ts).
    banks.push(await startBank(agg, id, await createBank(agg, id), file, states[i]!, { calibrationExact: true }));
  }
  await waitFor('three banks', async () => {
    const r = await api<{ connected: boolean }[]>(agg, 'GET', '/api/banks');
    return r.body.filter((b) => b.connected).length === 3;
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  await agg?.close();
  cleanup(dir);
});

describe('calibration job', () => {
  it('returns the quantile of the pooled histogram of every bank’s scores, and each bank keeps it', async () => {
    const bins = 100;
    const contamination = 0.05;
    const job = await runJob(agg, 'calibration', { contamination, bins, minAccounts: 10 });
    expect(job.failureReason).toBeNull();
    const r = job.result as {
      threshold: number;
      histogram: number[];
      accounts: number;
      sources: Record<string, string>;
    };
    // What each bank computes on its own, pooled here (the test may see every score; the aggregator never does).
    const pooled: number[] = [];
    for (const f of files) {
      const s = await bankAnomalyScores(f, () => {
        throw new Error('account scores expected');
      });
      expect(s.source).toBe('accounts');
      pooled.push(...s.scores);
    }
    const hist = scoreHistogram(pooled, bins);
    expect(r.histogram).toEqual(hist);
    expect(r.accounts).toBe(40 + 55 + 70);
    expect(r.threshold).toBe(histogramThreshold(hist, contamination));
    // It flags at least the contamination share, and at most one bin more.
    const flagged = pooled.filter((s) => s >= r.threshold).length / pooled.length;
    expect(flagged).toBeGreaterThanOrEqual(contamination);
    expect(flagged).toBeLessThan(0.2);
    expect(Object.values(r.sources)).toEqual(['accounts', 'accounts', 'accounts']);
    for (const state of states) {
      const kept = readJsonState<StoredThreshold>(state, CONSORTIUM_THRESHOLD_FILE)!;
      expect(kept).toMatchObject({ jobId: job.id, threshold: r.threshold, contamination, banks: 3 });
    }
  }, 60_000);

  it('fails naming the banks’ bin cap when it asks for more bins than they send (calibrationMaxBins)', async () => {
    const job = await runJob(agg, 'calibration', { bins: 10_000, minAccounts: 1 });
    expect(job.status).toBe('failed');
    for (const id of ids)
      expect(job.failureReason).toContain(
        `${id}: declined: bank ${id} sends score histograms of at most 100 bins, this job asks for 10000`,
      );
  }, 60_000);

  it('a job requested during a round waits for it; no round starts while it runs', async () => {
    expect((await api(agg, 'POST', '/api/training/start', {})).status).toBe(200);
    const inFlight = await waitRounds(agg, (rs) => rs.some((r) => r.status === 'training'), 'a round in flight');
    const round = inFlight.find((r) => r.status === 'training')!;
    const asked = await api<JobRecord>(agg, 'POST', '/api/jobs/calibration', { minAccounts: 10 });
    expect(asked.status).toBe(202);
    expect(asked.body.status).toBe('queued');
    const job = await waitJob(agg, asked.body.id);
    expect(job.status).toBe('completed');
    const ended = (await api<RoundRecord>(agg, 'GET', `/api/rounds/${round.id}`)).body;
    expect(ended.endedAt).not.toBeNull();
    expect(job.startedAt!).toBeGreaterThanOrEqual(ended.endedAt!);
    // Training goes on after the job: the next round starts only once the job ended.
    const after = await waitRounds(agg, (rs) => rs.some((r) => r.id > round.id), 'the next round', 60_000).catch(
      async (err: Error) => {
        // Once seen in CI (not reproduced since): say what held the next round back.
        const [status, bankViews, rounds] = await Promise.all(
          ['/api/status', '/api/banks', '/api/rounds'].map(async (p) => (await api(agg, 'GET', p)).body),
        );
        throw new Error(`${err.message}\n${JSON.stringify({ status, banks: bankViews, rounds, job })}`);
      },
    );
    expect(after.length).toBeGreaterThan(1);
    for (const r of await listRounds(agg))
      expect(r.startedAt < job.startedAt! || r.startedAt >= job.endedAt!, `round ${r.id}`).toBe(true);
    expect((await api(agg, 'POST', '/api/training/stop', {})).status).toBe(200);
  }, 90_000);
});
