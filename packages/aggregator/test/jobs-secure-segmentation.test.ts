/**
 * A segmentation under secure aggregation (issue 19 item 2: "through secure aggregation when it
 * is on"), over real sockets with three real bank clients: every summed stage (the histogram,
 * each Lloyd iteration) is a SecAgg+ pass of five stages, the aggregator never receives one
 * bank's statistics, and the result equals the in-memory federatedKMeans within the fixed-point
 * error. With DP each bank's ε is accounted from what it declared in the clear and equals its
 * own ledger. A calibration, which has no secure path, is refused unless plaintext is allowed.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import {
  coarseHistogram,
  customerFeaturesFromCsv,
  federatedKMeans,
  histogramInit,
  mergeMomentsChan,
  momentsOf,
  scalePoints,
  scalingOf,
} from '@finsecure/common/kmeans';
import { createRng } from '@finsecure/common/rng';
import { AnalyticsLedger } from '../../bank-client/src/analytics/state.js';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, createBank, startBank, startTestAggregator, tempDir, waitFor } from './helpers/federation.js';
import { runJob, waitJob, writeCustomerShard } from './helpers/customers.js';
import type { JobRecord } from '../src/federation/jobs/types.js';

let dir: string;
let agg: RunningAggregator;
const banks: BankClient[] = [];
const files: string[] = [];
const states: string[] = [];
const ids = ['bank-a', 'bank-b', 'bank-c'];
const STEPS = ['advertise', 'share', 'masked', 'consistency', 'unmask'];

beforeAll(async () => {
  dir = tempDir('finsecure-secure-segjobs-');
  agg = await startTestAggregator(dir, {
    rules: { secureAggregation: true, quorum: 2, minBanks: 3, secaggThreshold: 2 } as never,
  });
  for (const [i, id] of ids.entries()) {
    const file = path.join(dir, `${id}.csv`);
    writeCustomerShard(file, { seed: 21 + i, rows: 500 + 100 * i, customers: 30 + 10 * i });
    files.push(file);
    states.push(path.join(dir, `state-${id}`));
    // segmentExact and segmentMinCount 1: the banks answer exact jobs and release every segment, as
    // the in-memory reference does (by default they decline jobs without DP, and empty small
    // segments: bank-client analytics-worker.test.ts).
    banks.push(
      await startBank(agg, id, await createBank(agg, id), file, states[i]!, { segmentExact: true, segmentMinCount: 1 }),
    );
  }
  await waitFor(
    'three banks with pinned identity keys',
    async () => {
      const r = await api<{ connected: boolean }[]>(agg, 'GET', '/api/banks');
      return r.body.filter((b) => b.connected).length === 3 ? true : null;
    },
    20_000,
    50,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  await agg?.close();
  cleanup(dir);
});

describe('segmentation under secure aggregation', () => {
  it('sums every histogram and Lloyd stage securely and equals the in-memory k-means within the fixed-point error', async () => {
    const k = 4;
    const job = await runJob(agg, 'segmentation', { k, maxIterations: 100, tol: 1e-12, minCustomers: 5 });
    expect(job.failureReason).toBeNull();
    expect(job.status).toBe('completed');
    // The moments stay a plain stage (they fix the public scaling, as the training hello's
    // statistics do); every summed stage is a five-step pass, and no plain Lloyd stage exists.
    const names = job.stages.map((s) => s.name);
    expect(names.slice(0, 6)).toEqual(['moments', ...STEPS.map((s) => `init · ${s}`)]);
    expect(names.slice(6, 11)).toEqual(STEPS.map((s) => `lloyd 1 · ${s}`));
    expect(names.filter((n) => !n.includes(' · ') && n !== 'moments')).toEqual([]);
    expect(job.stages.every((s) => s.answered.length === 3)).toBe(true);

    const raw = await Promise.all(files.map(async (f) => (await customerFeaturesFromCsv(f)).finish().points));
    const scaling = scalingOf(mergeMomentsChan(raw.map(momentsOf)));
    const scaled = raw.map((p) => scalePoints(p, scaling));
    const grid = { box: { lo: Array(6).fill(-3), hi: Array(6).fill(3) }, bins: 4 };
    const hist = new Float64Array(4 ** 6);
    for (const s of scaled) coarseHistogram(s, grid).forEach((v, i) => (hist[i]! += v));
    const fed = federatedKMeans(scaled, histogramInit(hist, grid, k, createRng(1), 10, 0), {
      maxRounds: 100,
      tol: 1e-12,
    });
    const r = job.result as { centresScaled: number[][]; sizes: number[] };
    // Counts are exact (integers, rounded after unmasking); sums carry at most 3 · 2^-f per
    // coordinate (f ≥ 17 here), a few 1e-6 on a centre: far below any assignment margin.
    expect(r.sizes).toEqual(Array.from(fed.counts));
    let worst = 0;
    r.centresScaled.flat().forEach((v, i) => (worst = Math.max(worst, Math.abs(v - fed.centres.data[i]!))));
    expect(worst).toBeLessThan(1e-4);
  }, 90_000);

  it('with DP, accounts each bank’s ε from what it declared with its masked vector; equal to the bank’s own ledger', async () => {
    const before = states.map((s) => new AnalyticsLedger(s).epsilon(1e-5));
    const job = await runJob(agg, 'segmentation', {
      k: 3,
      maxIterations: 2,
      tol: 0,
      minCustomers: 5,
      privacy: { clip: 4, noiseMultiplier: 1, histogramNoiseMultiplier: 2 },
    });
    expect(job.failureReason).toBeNull();
    expect(job.status).toBe('completed');
    const eps = (job.result as { privacy: { epsilon: Record<string, number> } }).privacy.epsilon;
    for (const [i, id] of ids.entries()) {
      const ledger = new AnalyticsLedger(states[i]!).epsilon(1e-5);
      expect(before[i]).toBe(0);
      expect(eps[id]).toBeGreaterThan(0);
      expect(eps[id]).toBeCloseTo(ledger, 9);
    }
  }, 90_000);

  it('refuses a calibration (no secure path) unless plaintext is allowed', async () => {
    const refused = await api<{ message: string }>(agg, 'POST', '/api/jobs/calibration', {});
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/rules\.secureAggregation/);
  });

  it('a bank lost in the middle of a pass is unmasked from its neighbours’ shares; the job goes on without it', async () => {
    const res = await api<{ id: number }>(agg, 'POST', '/api/jobs/segmentation', {
      k: 3,
      maxIterations: 40,
      tol: 0,
      minCustomers: 5,
    });
    expect(res.status).toBe(202);
    // Lose bank-c once the first Lloyd pass has shared its keys: its masked vector never comes.
    await waitFor(
      'the first Lloyd pass to reach its masked step',
      async () => {
        const j = (await api<JobRecord>(agg, 'GET', `/api/jobs/${res.body.id}`)).body;
        return j.stages.some((st) => st.name === 'lloyd 1 · share') ? true : null;
      },
      30_000,
      5,
    );
    banks[2]!.stop();
    const job = await waitJob(agg, res.body.id, 90_000);
    expect(job.failureReason).toBeNull();
    expect(job.status).toBe('completed');
    const lost = job.stages.find((st) => st.dropped['bank-c'] !== undefined)!;
    expect(lost.name).toMatch(/^lloyd \d+ · /);
    // Every later stage asks only the two banks left.
    const after = job.stages.slice(job.stages.indexOf(lost) + 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((st) => st.asked.join() === 'bank-a,bank-b')).toBe(true);
    const declined = (job.result as { declined: { bank: string }[] }).declined.map((d) => d.bank);
    expect(declined).toContain('bank-c');
  }, 120_000);
});
