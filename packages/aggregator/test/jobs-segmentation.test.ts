/**
 * Segmentation jobs over the network (issue 19 items 2 and 5): a real aggregator (HTTP,
 * WebSocket on 127.0.0.1, SQLite file) and three real bank clients. Without noise the job
 * equals the in-memory federatedKMeans from the same initial centres within 1e-9; with DP
 * every bank's ε is accounted (aggregator and the bank's own ledger agree); bad input
 * (k too large, a bank with too few customers, a file without CUSTOMER_ID) gives reasons,
 * never a crash.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import { RdpAccountant } from '@finsecure/common/dp';
import {
  coarseHistogram,
  customerFeaturesFromCsv,
  federatedKMeans,
  histogramInit,
  lloydStatistics,
  mergeMomentsChan,
  momentsOf,
  scalePoints,
  scalingOf,
  type Points,
} from '@finsecure/common/kmeans';
import { createRng } from '@finsecure/common/rng';
import {
  AnalyticsLedger,
  readJsonState,
  SEGMENTS_FILE,
  type StoredSegmentation,
} from '../../bank-client/src/analytics/state.js';
import { SegmentationParams } from '../src/federation/jobs/params.js';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, createBank, startBank, startTestAggregator, tempDir, waitFor } from './helpers/federation.js';
import { runJob, writeCustomerShard } from './helpers/customers.js';

let dir: string;
let agg: RunningAggregator;
const banks: BankClient[] = [];
const files: string[] = [];
const states: string[] = [];
const ids = ['bank-a', 'bank-b', 'bank-c'];

beforeAll(async () => {
  dir = tempDir('finsecure-segjobs-');
  agg = await startTestAggregator(dir);
  for (const [i, id] of ids.entries()) {
    const file = path.join(dir, `${id}.csv`);
    writeCustomerShard(file, { seed: 11 + i, rows: 500 + 100 * i, customers: 30 + 10 * i });
    files.push(file);
    states.push(path.join(dir, `state-${id}`));
    // segmentExact and segmentMinCount 1: the banks answer exact jobs and release every segment, as
    // the in-memory reference does (by default they decline jobs without DP, and empty small
    // segments: bank-client analytics-worker.test.ts).
    banks.push(
      await startBank(agg, id, await createBank(agg, id), file, states[i]!, { segmentExact: true, segmentMinCount: 1 }),
    );
  }
  await waitConnected(ids.length);
}, 60_000);

afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  await agg?.close();
  cleanup(dir);
});

async function waitConnected(n: number): Promise<void> {
  for (let t = 0; t < 400; t++) {
    const r = await api<{ connected: boolean }[]>(agg, 'GET', '/api/banks');
    if (r.body.filter((b) => b.connected).length >= n) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('banks did not connect');
}

async function shards(list: string[]): Promise<Points[]> {
  return Promise.all(list.map(async (f) => (await customerFeaturesFromCsv(f)).finish().points));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('segmentation job over the network', () => {
  it('equals the in-memory federatedKMeans from the same initial centres within 1e-9 (no noise)', async () => {
    const k = 4;
    // The job runner listens to the federation's live events only while a job waits or runs (a
    // listener makes every round build them).
    expect(agg.events.size).toBe(0);
    const job = await runJob(agg, 'segmentation', { k, maxIterations: 100, tol: 1e-12, minCustomers: 5 });
    expect(job.failureReason).toBeNull();
    expect(job.status).toBe('completed');
    await waitFor('the job runner to stop listening', () => agg.events.size === 0, 10_000);
    // The same pipeline in memory: moments → scaling → histogram → histogramInit → Lloyd.
    const raw = await shards(files);
    const scaling = scalingOf(mergeMomentsChan(raw.map(momentsOf)));
    const scaled = raw.map((p) => scalePoints(p, scaling));
    const grid = { box: { lo: Array(6).fill(-3), hi: Array(6).fill(3) }, bins: 4 };
    const hist = new Float64Array(4 ** 6);
    for (const s of scaled) coarseHistogram(s, grid).forEach((v, i) => (hist[i]! += v));
    const init = histogramInit(hist, grid, k, createRng(1), 10, 0);
    const fed = federatedKMeans(scaled, init, { maxRounds: 100, tol: 1e-12 });
    const r = job.result as { centresScaled: number[][]; iterations: number; sizes: number[]; converged: boolean };
    expect(r.converged).toBe(fed.converged);
    expect(r.iterations).toBe(fed.rounds.length);
    expect(maxAbsDiff(r.centresScaled.flat(), fed.centres.data)).toBeLessThan(1e-9);
    expect(r.sizes).toEqual(Array.from(fed.counts));
    // Sizes add up to every customer; stages: moments, init, one per Lloyd iteration.
    expect(r.sizes.reduce((a, b) => a + b, 0)).toBe(30 + 40 + 50);
    expect(job.stages.map((s) => s.name).slice(0, 3)).toEqual(['moments', 'init', 'lloyd 1']);
    expect(job.stages.every((s) => s.answered.length === 3)).toBe(true);
    // Each bank keeps its own customers by segment, under pseudonyms only.
    for (const [i, state] of states.entries()) {
      const kept = readJsonState<StoredSegmentation>(state, SEGMENTS_FILE)!;
      expect(kept.jobId).toBe(job.id);
      const all = kept.segments.flatMap((s) => s.customers);
      expect(all.length).toBe(30 + 10 * i);
      expect(all.every((c) => /^cus_[0-9a-f]{32}$/.test(c))).toBe(true);
      // Its own assignment agrees with the released centres.
      const mine = lloydStatistics(scaled[i]!, fed.centres).counts;
      expect(kept.segments.map((s) => s.customers.length)).toEqual(Array.from(mine));
    }
    // Audited.
    const audit = await api<{ type: string; details: { jobId?: number } }[]>(agg, 'GET', '/api/audit?limit=10000');
    const types = audit.body.filter((e) => e.details.jobId === job.id).map((e) => e.type);
    expect(types).toEqual(['job.started', 'job.completed']);
  }, 60_000);

  it('refuses a job whose noise is a token amount (z below 1), naming the field', async () => {
    for (const [privacy, field] of [
      [{ clip: 1000, noiseMultiplier: 1e-9, histogramNoiseMultiplier: 3 }, 'privacy.noiseMultiplier'],
      [{ clip: 4, noiseMultiplier: 2, histogramNoiseMultiplier: 0.5 }, 'privacy.histogramNoiseMultiplier'],
    ] as const) {
      const r = await api<{ message: string }>(agg, 'POST', '/api/jobs/segmentation', { k: 2, privacy });
      expect(r.status).toBe(400);
      // The route's schema answers first ("body/privacy/noiseMultiplier must be >= 1"); the job's
      // own parse says the same in words when the route is bypassed (SegmentationParams).
      expect(r.body.message).toContain(`body/${field.replace('.', '/')} must be >= 1`);
    }
  });

  it('the job parameters themselves refuse a token amount of noise, in words', () => {
    const r = SegmentationParams.safeParse({ privacy: { noiseMultiplier: 1e-9 } });
    expect(r.error?.issues[0]?.path).toEqual(['privacy', 'noiseMultiplier']);
    expect(r.error?.issues[0]?.message).toMatch(/^must be at least 1: less noise than that is no differential privacy/);
    expect(SegmentationParams.safeParse({ privacy: { noiseMultiplier: 1 } }).success).toBe(true);
  });

  it('with DP, accounts each bank’s ε: the aggregator’s figure equals the bank’s own ledger', async () => {
    const before = states.map((s) => new AnalyticsLedger(s).epsilon(1e-5));
    expect(before.every((e) => e === 0)).toBe(true);
    const job = await runJob(agg, 'segmentation', {
      k: 3,
      maxIterations: 3,
      tol: 0,
      minCustomers: 5,
      privacy: { clip: 4, noiseMultiplier: 1, histogramNoiseMultiplier: 2 },
    });
    expect(job.status).toBe('completed');
    const r = job.result as {
      iterations: number;
      privacy: { epsilon: Record<string, number>; maxEpsilon: number };
      fraudRate: (number | null)[];
      sizes: number[];
      names: string[];
    };
    expect(r.iterations).toBe(3);
    const expected = new RdpAccountant().addGaussian(2).addGaussian(1, 3).epsilon(1e-5).epsilon;
    for (const [i, id] of ids.entries()) {
      expect(r.privacy.epsilon[id]).toBeCloseTo(expected, 9);
      expect(new AnalyticsLedger(states[i]!).epsilon(1e-5)).toBeCloseTo(expected, 9);
    }
    expect(r.privacy.maxEpsilon).toBeCloseTo(expected, 9);
    expect(r.names).toHaveLength(3);
    // Noised sizes are released, not exact ones.
    expect(r.sizes.some((s) => !Number.isInteger(s))).toBe(true);
  }, 60_000);
});

describe('segmentation: bad input never crashes a job', () => {
  it('k larger than the customers fails the job with the numbers', async () => {
    // bank-a (30 customers) is below the minimum: 40 + 50 customers are left for k = 100.
    const job = await runJob(agg, 'segmentation', { k: 100, minCustomers: 35 });
    expect(job.status).toBe('failed');
    expect(job.failureReason).toMatch(
      /k = 100 segments is larger than the number of customers .*\(90\): choose k ≤ 90/,
    );
    // k ≤ customers but more than the occupied cells of the coarse grid: said so, with the count.
    const coarse = await runJob(agg, 'segmentation', { k: 100, minCustomers: 5 });
    expect(coarse.status).toBe('failed');
    expect(coarse.failureReason).toMatch(/^init: k = 100 is larger than the number of occupied grid cells \(\d+\)/);
  }, 30_000);

  it('refuses bad parameters (400), and a calibration under secure aggregation (409; segmentation has a secure path)', async () => {
    const bad = await api<{ message: string }>(agg, 'POST', '/api/jobs/segmentation', { k: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/k/);
    const change = await api(agg, 'PUT', '/api/config', { rules: { secureAggregation: true } });
    expect(change.status).toBe(200);
    try {
      // A segmentation's sums go through secure aggregation (jobs-secure-segmentation.test.ts).
      const refused = await api<{ message: string }>(agg, 'POST', '/api/jobs/calibration', {});
      expect(refused.status).toBe(409);
      expect(refused.body.message).toMatch(/rules\.secureAggregation.*allowPlaintext/);
    } finally {
      expect((await api(agg, 'PUT', '/api/config', { rules: { secureAggregation: false } })).status).toBe(200);
    }
  });

  it('a bank with too few customers and a bank without CUSTOMER_ID decline with reasons; the job goes on', async () => {
    const small = path.join(dir, 'small.csv');
    writeCustomerShard(small, { seed: 40, rows: 60, customers: 3 });
    const noIds = path.join(dir, 'no-ids.csv');
    writeCustomerShard(noIds, { seed: 41, rows: 300, noCustomerColumn: true });
    const extra = [
      await startBank(agg, 'bank-small', await createBank(agg, 'bank-small'), small, path.join(dir, 'state-small')),
      await startBank(agg, 'bank-noids', await createBank(agg, 'bank-noids'), noIds, path.join(dir, 'state-noids')),
    ];
    banks.push(...extra);
    await waitConnected(5);
    const job = await runJob(agg, 'segmentation', { k: 3, maxIterations: 5, minCustomers: 10 });
    expect(job.status).toBe('completed');
    const dropped = job.stages[0]!.dropped;
    expect(dropped['bank-small']).toMatch(/bank-small has 3 customers, fewer than the minimum of 10/);
    expect(dropped['bank-noids']).toMatch(/no-ids\.csv.*CUSTOMER_ID/);
    // Not asked again in later stages.
    expect(job.stages.slice(1).every((s) => !s.asked.includes('bank-small') && s.asked.length === 3)).toBe(true);
    const declined = (job.result as { declined: { bank: string }[] }).declined.map((d) => d.bank).sort();
    expect(declined).toEqual(['bank-noids', 'bank-small']);
    for (const b of extra) b.stop();
    await waitConnected(3);
  }, 60_000);
});
