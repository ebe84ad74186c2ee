/**
 * Banks that misbehave during a job cannot crash or stall it: a bank that never answers is
 * dropped at the stage deadline, one that disconnects is dropped at once, one that sends an
 * answer of the wrong shape or an unreadable frame is refused with the reason, a frame for
 * another job is ignored; the job completes with the honest banks (two real bank clients),
 * and a job left running by a crash is marked failed at the next start.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import { encodeFrame, type AnalyticsClientMessage } from '@finsecure/common/protocol';
import type { JobRecord } from '../src/federation/jobs/types.js';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, createBank, startBank, startTestAggregator, tempDir, waitFor } from './helpers/federation.js';
import { runJob, writeCustomerShard } from './helpers/customers.js';
import { RawBank } from './helpers/raw-bank.js';

let dir: string;
let agg: RunningAggregator;
const banks: BankClient[] = [];
const raw: RawBank[] = [];

const send = (b: RawBank, m: AnalyticsClientMessage) => b.sendBytes(encodeFrame(m));

beforeAll(async () => {
  dir = tempDir('finsecure-jobs-misbehave-');
  agg = await startTestAggregator(dir);
  for (const [i, id] of ['bank-a', 'bank-b'].entries()) {
    const file = path.join(dir, `${id}.csv`);
    writeCustomerShard(file, { seed: 51 + i, rows: 400, customers: 30 });
    // segmentExact: these banks answer the exact (no DP) job below (by default they decline it).
    banks.push(
      await startBank(agg, id, await createBank(agg, id), file, path.join(dir, `state-${id}`), { segmentExact: true }),
    );
  }
  for (const id of ['raw-silent', 'raw-leaver', 'raw-garbage', 'raw-unreadable'])
    raw.push(await RawBank.join(`${agg.wsUrl}/ws/bank`, id, await createBank(agg, id)));
  await waitFor('six banks', async () => {
    const r = await api<{ connected: boolean }[]>(agg, 'GET', '/api/banks');
    return r.body.filter((b) => b.connected).length === 6;
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  for (const r of raw) r.close();
  await agg?.close();
  cleanup(dir);
});

describe('a job among misbehaving banks', () => {
  it('drops the silent, the disconnected and the malformed with reasons, and completes with the others', async () => {
    const asked = await api<JobRecord>(agg, 'POST', '/api/jobs/segmentation', {
      k: 3,
      maxIterations: 5,
      minCustomers: 5,
      stageTimeoutMs: 5_000,
    });
    expect(asked.status).toBe(202);
    const [silent, leaver, garbage, unreadable] = raw as [RawBank, RawBank, RawBank, RawBank];
    const req = await garbage.next('analytics_request');
    expect(req.msg.task.kind).toBe('segment_moments');
    await leaver.next('analytics_request');
    leaver.close();
    await silent.next('analytics_request');
    await unreadable.next('analytics_request');
    const base = { jobId: req.msg.jobId, stageIndex: req.msg.stageIndex };
    // Another job's answer first: ignored, not held against the bank.
    send(garbage, {
      type: 'analytics_answer',
      jobId: req.msg.jobId + 100,
      stageIndex: 0,
      answer: { kind: 'segment_moments', count: 9, mean: [0], m2: [0], periodDays: 1 },
    });
    send(garbage, {
      type: 'analytics_answer',
      ...base,
      answer: { kind: 'segment_moments', count: 50, mean: [1, 2, 3], m2: [1, 1, 1], periodDays: 3 },
    });
    // A frame that claims to be analytics but is not a valid message.
    const bad = encodeFrame({ type: 'analytics_answer', ...base } as never);
    unreadable.sendBytes(bad);
    const job = await waitFor(
      'the job to end',
      async () => {
        const j = (await api<JobRecord>(agg, 'GET', `/api/jobs/${asked.body.id}`)).body;
        return j.status === 'completed' || j.status === 'failed' ? j : null;
      },
      60_000,
    );
    expect(job.failureReason).toBeNull();
    const moments = job.stages[0]!;
    expect(moments.answered.sort()).toEqual(['bank-a', 'bank-b']);
    expect(moments.dropped['raw-leaver']).toBe('disconnected');
    expect(moments.dropped['raw-silent']).toBe('no answer by the moments deadline');
    expect(moments.dropped['raw-garbage']).toBe('refused: moments of 3 features, the job has 6');
    expect(moments.dropped['raw-unreadable']).toMatch(/^invalid answer: /);
    expect(moments.closedBy).toBe('deadline');
    // The later stages ask only the banks that answered.
    expect(job.stages.slice(1).every((s) => s.asked.join() === 'bank-a,bank-b')).toBe(true);
  }, 60_000);

  it('a job left running by a crash is failed at the next start; the routes are in the OpenAPI document', async () => {
    const d = tempDir('finsecure-jobs-restart-');
    try {
      const a = await startTestAggregator(d);
      await a.store.saveJob({
        id: 1,
        kind: 'calibration',
        status: 'running',
        requestedBy: 'admin',
        requestedAt: 1,
        startedAt: 2,
        endedAt: null,
        params: {},
        stages: [],
        result: null,
        failureReason: null,
      });
      await a.close();
      const b = await startTestAggregator(d);
      const job = (await api<JobRecord>(b, 'GET', '/api/jobs/1')).body;
      expect(job).toMatchObject({ status: 'failed', failureReason: 'aggregator restarted' });
      // New jobs continue the numbering.
      const next = await runJob(b, 'calibration', {});
      expect(next.id).toBe(2);
      expect(next.failureReason).toMatch(/no bank to ask/);
      // The routes document themselves (OpenAPI), parameters included.
      const spec = (await (await fetch(`${b.url}/docs/json`)).json()) as {
        paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
      };
      for (const p of ['/api/jobs', '/api/jobs/{id}', '/api/jobs/segmentation', '/api/jobs/calibration'])
        expect(Object.keys(spec.paths)).toContain(p);
      const body = JSON.stringify(spec.paths['/api/jobs/segmentation']!.post!.requestBody);
      for (const field of ['"k"', '"maxIterations"', '"privacy"', '"allowPlaintext"']) expect(body).toContain(field);
      await b.close();
    } finally {
      cleanup(d);
    }
  }, 30_000);
});
