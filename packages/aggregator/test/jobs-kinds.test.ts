/**
 * The pure parts of analytics jobs, without a network: the segmentation job keeps an empty
 * segment's centre, refuses answers of the wrong kind, shape, iteration or privacy, and
 * fails with the reason when no bank answers; the calibration threshold flags the
 * contamination share of a histogram; bad parameters name the field.
 */
import { describe, expect, it } from 'vitest';
import { lowerEdgeLogit, sigmoid } from '@finsecure/common/metrics';
import type { AnalyticsAnswerBody } from '@finsecure/common/protocol';
import {
  CalibrationJob,
  histogramThreshold,
  SegmentationJob,
  SegmentationParams,
  type JobStep,
} from '../src/federation/jobs/index.js';

const d = 6;

function stage(step: JobStep) {
  if (step.type !== 'stage') throw new Error(`expected a stage, got ${JSON.stringify(step)}`);
  return step.stage;
}

/** Drives a 2-segment job through moments and init with one bank whose customers sit at ±1 in every feature. */
function jobAtLloyd(over: Record<string, unknown> = {}): SegmentationJob {
  const job = new SegmentationJob(SegmentationParams.parse({ k: 2, bins: 2, minCustomers: 1, ...over }));
  expect(stage(job.next()).name).toBe('moments');
  const moments: AnalyticsAnswerBody = {
    kind: 'segment_moments',
    count: 4,
    mean: Array(d).fill(0),
    m2: Array(d).fill(4),
    periodDays: 1,
  };
  expect(job.accept('a', moments)).toBeNull();
  job.close(['a'], new Map());
  const init = stage(job.next());
  expect(init.name).toBe('init');
  const counts = Array(2 ** d).fill(0);
  counts[0] = 10; // all features low
  counts[2 ** d - 1] = 10; // all features high
  const z = (over.privacy as { noiseMultiplier?: number } | undefined)?.noiseMultiplier ?? 0;
  expect(job.accept('a', { kind: 'segment_histogram', counts, noiseMultiplier: z })).toBeNull();
  job.close(['a'], new Map());
  return job;
}

describe('segmentation job (pure)', () => {
  it('keeps the previous centre of an empty segment and says which', () => {
    const job = jobAtLloyd();
    const lloyd = stage(job.next());
    if (lloyd.task.kind !== 'segment_lloyd') throw new Error('expected a Lloyd task');
    const before = lloyd.task.centres;
    // Every customer went to segment 0: segment 1 is empty.
    const sums = [...Array(d).fill(0), ...Array(d).fill(0)];
    expect(job.accept('a', { kind: 'segment_lloyd', iteration: 1, sums, counts: [4, 0] })).toBeNull();
    job.close(['a'], new Map());
    const next = stage(job.next());
    if (next.task.kind !== 'segment_lloyd') throw new Error('expected a Lloyd task');
    expect(next.task.centres.slice(0, d)).toEqual(Array(d).fill(0));
    expect(next.task.centres.slice(d)).toEqual(before.slice(d));
    // The same statistics again: nothing moves, converged.
    expect(job.accept('a', { kind: 'segment_lloyd', iteration: 2, sums, counts: [4, 0] })).toBeNull();
    job.close(['a'], new Map());
    const done = job.next();
    if (done.type !== 'done') throw new Error('expected done');
    const r = done.result as { history: { empty: number[] }[]; converged: boolean; sizes: number[] };
    expect(r.history[0]!.empty).toEqual([1]);
    expect(r.converged).toBe(true);
    expect(r.sizes).toEqual([4, 0]);
  });

  it('refuses answers of the wrong kind, shape, iteration or privacy', () => {
    const job = jobAtLloyd({ privacy: { noiseMultiplier: 1 } });
    stage(job.next());
    const ok = { kind: 'segment_lloyd' as const, iteration: 1, sums: Array(2 * d).fill(0), counts: [1, 1] };
    expect(job.accept('a', { kind: 'calibration_histogram', counts: [1, 2], source: 'accounts' })).toMatch(
      /expected segment_lloyd/,
    );
    expect(job.accept('a', { ...ok, counts: [1] })).toMatch(/wrong shape/);
    expect(job.accept('a', { ...ok, iteration: 7 })).toMatch(/iteration 7/);
    expect(job.accept('a', ok)).toMatch(/asks for DP .* declares none/);
    expect(job.accept('a', { ...ok, privacy: { clip: 4, noiseMultiplier: 0.1 } })).toMatch(/asks for DP/);
    expect(job.accept('a', { ...ok, privacy: { clip: 4, noiseMultiplier: 1 } })).toBeNull();
  });

  it('fails with every reason when no bank answers a stage', () => {
    const job = new SegmentationJob(SegmentationParams.parse({ k: 2 }));
    stage(job.next());
    job.close([], new Map([['a', 'declined: bank a has 3 customers, fewer than the minimum of 10']]));
    const step = job.next();
    expect(step).toEqual({
      type: 'fail',
      reason:
        'moments: no bank answered the moments stage (a: declined: bank a has 3 customers, fewer than the minimum of 10)',
    });
  });

  it('validates parameters, naming the field', () => {
    expect(SegmentationParams.safeParse({ k: 0 }).error?.issues[0]?.path).toEqual(['k']);
    expect(SegmentationParams.safeParse({ bins: 7 }).error?.issues[0]?.path).toEqual(['bins']);
    expect(SegmentationParams.safeParse({ k: 2, extra: 1 }).success).toBe(false);
  });
});

describe('calibration (pure)', () => {
  it('the threshold is the lower edge of the bin where the count from the top reaches the share', () => {
    const counts = [50, 30, 10, 6, 4];
    // Top 5 %: 4 of 100 is not enough, 4 + 6 is: the edge of bin 3.
    expect(histogramThreshold(counts, 0.05)).toBe(sigmoid(lowerEdgeLogit(3, 5)));
    expect(histogramThreshold(counts, 0.04)).toBe(sigmoid(lowerEdgeLogit(4, 5)));
    expect(histogramThreshold(counts, 0.5)).toBe(sigmoid(lowerEdgeLogit(1, 5)));
    expect(histogramThreshold(counts, 0.6)).toBe(0); // every bin is needed: edge of bin 0
    expect(() => histogramThreshold([0, 0], 0.1)).toThrow(/no scores/);
  });

  it('sums the banks’ histograms and refuses a histogram of the wrong size', () => {
    const job = new CalibrationJob({
      contamination: 0.1,
      bins: 4,
      minAccounts: 2,
      stageTimeoutMs: 1000,
      allowPlaintext: false,
    });
    expect(stage(job.next()).task).toEqual({ kind: 'calibration_histogram', bins: 4, minAccounts: 2 });
    expect(job.accept('a', { kind: 'calibration_histogram', counts: [1, 2, 3], source: 'accounts' })).toMatch(/3 bins/);
    expect(job.accept('a', { kind: 'calibration_histogram', counts: [1, 0, 0, 0], source: 'accounts' })).toMatch(
      /below the minimum of 2/,
    );
    expect(job.accept('a', { kind: 'calibration_histogram', counts: [5, 3, 1, 1], source: 'accounts' })).toBeNull();
    expect(job.accept('b', { kind: 'calibration_histogram', counts: [5, 3, 1, 1], source: 'transactions' })).toBeNull();
    job.close(['a', 'b'], new Map([['c', 'disconnected']]));
    const done = job.next();
    if (done.type !== 'done') throw new Error('expected done');
    expect(done.result).toMatchObject({ histogram: [10, 6, 2, 2], accounts: 20, banks: ['a', 'b'] });
    expect(done.outcome).toMatchObject({ kind: 'calibration', banks: 2, accounts: 20 });
  });
});
