/**
 * What a bank's analytics answers let out, whatever the aggregator asks (review of the egress
 * paths): a segmentation stage with a token amount of noise (z = 0 or 1e-9 in a "privacy" object)
 * is an exact answer, declined without segmentExact; every Lloyd release goes through
 * segmentMinCount, noised or not; no release takes the bank's ε to infinity; a calibration
 * histogram is sent only with calibrationExact, with at most calibrationMaxBins bins and for at
 * least calibrationMinAccounts accounts; a bank-local error in a secure round leaves the bank as
 * its kind, not its message.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  customerFeaturesFromCsv,
  momentsOf,
  scalePoints,
  scalingOf,
  type Points,
  type Scaling,
} from '@finsecure/common/kmeans';
import type { AnalyticsClientMessage, AnalyticsServerMessage } from '@finsecure/common/protocol';
import { AnalyticsClientMessage as ClientSchema } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { AnalyticsWorker, type AnalyticsWorkerOptions } from '../src/analytics/worker.js';
import { cleanup, tempDir } from './helpers/console.js';
import { lastSent, maskedFit, openRound, removeSimBanks, simBanks } from './helpers/secure-fit-round.js';

let dir: string;
const quiet = pino({ level: 'silent' });

/**
 * Handbook-layout transactions of `customers` customers, 4 rows each; customer 7 (id 1007) has one
 * huge amount and a fraud: the customer an aggregator would aim a centre at.
 */
function handbook(file: string, customers: number): void {
  const lines = ['TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD'];
  let t = 0;
  for (let c = 0; c < customers; c++)
    for (let j = 0; j < 4; j++) {
      const hour = String((c * 5 + j * 7) % 24).padStart(2, '0');
      const vip = c === 7 && j === 0;
      const day = String(1 + ((c + j) % 28)).padStart(2, '0');
      const amount = vip ? 98765.43 : 10 + c * 2.5 + j;
      lines.push(
        [t++, `2018-04-${day} ${hour}:10:00`, 1000 + c, (c * 3 + j) % 17, amount.toFixed(2), vip ? 1 : 0].join(','),
      );
    }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function worker(file: string, state: string, o: Partial<AnalyticsWorkerOptions> = {}) {
  return new AnalyticsWorker({
    bankId: 'bank-x',
    stateDir: path.join(dir, state),
    dataFile: file,
    transactions: () => ({ data: new Float64Array(0), rows: 0, cols: 1 }),
    noiseRng: createRng(3),
    logger: quiet,
    delta: 1e-5,
    ...o,
  });
}

async function ask(w: AnalyticsWorker, task: Extract<AnalyticsServerMessage, { type: 'analytics_request' }>['task']) {
  const sent: AnalyticsClientMessage[] = [];
  const msg = { type: 'analytics_request', jobId: 1, stageIndex: 0, stage: task.kind, deadlineInMs: 10_000, task };
  await w.handle(msg as AnalyticsServerMessage, (m) => sent.push(ClientSchema.parse(m)));
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

let file: string;
let points: Points;
let scaling: Scaling;
/** Centre 0 far from everyone, centre 1 exactly on customer 1007. */
let aimed: number[];

beforeAll(async () => {
  dir = tempDir('finsecure-analytics-egress-');
  file = path.join(dir, 'hb.csv');
  handbook(file, 40);
  points = (await customerFeaturesFromCsv(file)).finish().points;
  scaling = scalingOf(momentsOf(points));
  const scaled = scalePoints(points, scaling);
  aimed = [...Array<number>(points.d).fill(0), ...scaled.data.subarray(7 * points.d, 8 * points.d)];
});
afterAll(() => {
  removeSimBanks();
  cleanup(dir);
});

const lloyd = (privacy?: { clip: number; noiseMultiplier: number }) =>
  ({
    kind: 'segment_lloyd',
    minCustomers: 1,
    iteration: 1,
    scaling,
    k: 2,
    d: points.d,
    centres: aimed,
    ...(privacy ? { privacy } : {}),
  }) as const;

describe('segmentation: a token amount of noise is an exact answer', () => {
  it('by default declines a Lloyd stage whose "privacy" has z = 0 or 1e-9, and its ε stays finite', async () => {
    const w = worker(file, 'state-defaults');
    for (const z of [0, 1e-9, 0.5]) {
      const a = await ask(w, lloyd({ clip: 1e4, noiseMultiplier: z }));
      expect(a.type, `z = ${z}`).toBe('analytics_decline');
      expect(a.type === 'analytics_decline' && a.reason).toMatch(
        z === 0
          ? /only with differential privacy, and this job has none/
          : new RegExp(`noise multiplier at least 1, and this job's is ${z}: .*segmentMinNoiseMultiplier`),
      );
    }
    // A histogram with too little noise too.
    const box = { lo: Array<number>(6).fill(-3), hi: Array<number>(6).fill(3) };
    const h = await ask(w, { kind: 'segment_histogram', minCustomers: 1, scaling, box, bins: 2, noiseMultiplier: 0.5 });
    expect(h.type).toBe('analytics_decline');
    expect(w.epsilon()).toBe(0);
    // At the bank's minimum (the default 1) the stage is a DP release: answered and recorded.
    const ok = await ask(w, lloyd({ clip: 4, noiseMultiplier: 1 }));
    expect(ok.type).toBe('analytics_answer');
    expect(w.epsilon()).toBeGreaterThan(0);
    expect(Number.isFinite(w.epsilon())).toBe(true);
  });

  it('the bank sets its own minimum (segmentMinNoiseMultiplier)', async () => {
    const w = worker(file, 'state-min3', { segmentMinNoiseMultiplier: 3 });
    expect((await ask(w, lloyd({ clip: 4, noiseMultiplier: 2 }))).type).toBe('analytics_decline');
    expect((await ask(w, lloyd({ clip: 4, noiseMultiplier: 3 }))).type).toBe('analytics_answer');
  });

  it('with segmentExact, a z = 0 "privacy" answer is exact: suppressed below segmentMinCount, not in the ledger', async () => {
    const w = worker(file, 'state-exact', { segmentExact: true });
    const a = await ask(w, lloyd({ clip: 1e4, noiseMultiplier: 0 }));
    if (a.type !== 'analytics_answer' || a.answer.kind !== 'segment_lloyd') throw new Error(JSON.stringify(a));
    // Customer 1007 alone in segment 1: released as empty, not as its features.
    expect(a.answer.counts).toEqual([39, 0]);
    expect(a.answer.sums.slice(points.d)).toEqual(Array(points.d).fill(0));
    expect(a.answer.frauds).toEqual([0, 0]);
    expect(w.epsilon()).toBe(0);
  });

  it('suppresses a noised segment whose noised count is below segmentMinCount too', async () => {
    const w = worker(file, 'state-noised', { segmentMinCount: 10 });
    const a = await ask(w, lloyd({ clip: 4, noiseMultiplier: 1 }));
    if (a.type !== 'analytics_answer' || a.answer.kind !== 'segment_lloyd') throw new Error(JSON.stringify(a));
    expect(a.answer.counts[1]).toBe(0);
    expect(a.answer.sums.slice(points.d)).toEqual(Array(points.d).fill(0));
    // The big segment is noised, not exact.
    expect(Number.isInteger(a.answer.counts[0])).toBe(false);
  });

  it('refuses a release that would take ε past the budget, even with segmentExact', async () => {
    const w = worker(file, 'state-budget', { segmentExact: true, epsilonBudget: 10 });
    const a = await ask(w, lloyd({ clip: 4, noiseMultiplier: 1e-9 }));
    expect(a.type === 'analytics_decline' && a.reason).toMatch(/privacy budget: .* over 10/);
    expect(w.epsilon()).toBe(0);
    // Without a budget, a release that would take ε to infinity is refused all the same.
    const inf = await ask(
      worker(file, 'state-inf', { segmentExact: true }),
      lloyd({ clip: 4, noiseMultiplier: 1e-200 }),
    );
    expect(inf.type === 'analytics_decline' && inf.reason).toMatch(/would take the bank's segmentation ε to infinity/);
  });
});

describe('calibration histogram', () => {
  const task = (bins: number, minAccounts: number) => ({ kind: 'calibration_histogram', bins, minAccounts }) as const;

  it('by default declines a calibration job, naming calibrationExact', async () => {
    const a = await ask(worker(file, 'state-cal-default'), task(100, 10));
    expect(a.type === 'analytics_decline' && a.reason).toMatch(/does not answer calibration jobs: .*calibrationExact/);
  });

  it('with calibrationExact: at most calibrationMaxBins bins, at least calibrationMinAccounts accounts', async () => {
    const w = worker(file, 'state-cal', { calibrationExact: true });
    const fine = await ask(w, task(10_000, 0));
    expect(fine.type === 'analytics_decline' && fine.reason).toMatch(/at most 100 bins, this job asks for 10000/);
    // 40 accounts: the job's minAccounts of 0 does not lower the bank's floor.
    const floor = await ask(
      worker(file, 'state-cal-floor', { calibrationExact: true, calibrationMinAccounts: 41 }),
      task(100, 0),
    );
    expect(floor.type === 'analytics_decline' && floor.reason).toMatch(/has 40 accounts, fewer than the minimum of 41/);
    const ok = await ask(w, task(100, 0));
    if (ok.type !== 'analytics_answer' || ok.answer.kind !== 'calibration_histogram')
      throw new Error(JSON.stringify(ok));
    expect(ok.answer.counts).toHaveLength(100);
    expect(ok.answer.counts.reduce((x, y) => x + y, 0)).toBe(40);
    // Jobs of 99, 98, … bins would together give the counts at every edge k/b, a far finer
    // histogram than 100 bins: only the divisors of 100 are answered, each a coarsening of the 100.
    const odd = await ask(w, task(99, 0));
    expect(odd.type === 'analytics_decline' && odd.reason).toMatch(
      /whose bins divide its 100 \(1, 2, 4, 5, 10, 20, 25, 50, 100\); this job asks for 99/,
    );
    const half = await ask(w, task(50, 0));
    if (half.type !== 'analytics_answer' || half.answer.kind !== 'calibration_histogram')
      throw new Error(JSON.stringify(half));
    const c100 = ok.answer.counts;
    expect(half.answer.counts).toEqual(Array.from({ length: 50 }, (_, i) => c100[2 * i]! + c100[2 * i + 1]!));
  });
});

describe('secure rounds: a bank-local error', () => {
  it('is refused with its kind, never its message (paths of the bank)', async () => {
    const ids = ['bank-a', 'bank-b', 'bank-c', 'bank-d'];
    const banks = simBanks({ ids });
    const fixedPoint = { fractionalBits: 16, clip: 8, maxWeight: 1, maxBanks: ids.length };
    const r = await openRound(banks, { threshold: 3, fixedPoint });
    const a = banks[0]!;
    // The ledger cannot be written (EISDIR here; EACCES, EROFS or ENOSPC on a real disk).
    mkdirSync(path.join(a.stateDir, 'privacy.json'), { recursive: true });
    await maskedFit(r, a, 4);
    const refused = lastSent(a, 'secagg_refused');
    expect(refused.code).toBe('bank_error');
    expect(refused.reason).toBe("masked_fit failed (Error); the details are in the bank's log");
    expect(JSON.stringify(refused)).not.toContain(a.stateDir);
  });
});
