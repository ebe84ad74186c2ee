/**
 * GET /api/banks/:id (history with reputation, quarantine state) and
 * POST /api/banks/:id/quarantine/lift over real HTTP, on a real aggregator and SQLite file.
 * The rounds are stored directly (as the federation stores them) so that the test controls
 * which rounds excluded the bank.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankDetailView, BankReputation, RoundRecord } from '@finsecure/common/api';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, createBank, startTestAggregator, tempDir, VIEWER } from './helpers/federation.js';

function round(id: number, banks: Record<string, { weight: number; reputation?: BankReputation }>): RoundRecord {
  return {
    id,
    status: 'committed',
    startedAt: 1_000 * id,
    endedAt: 1_000 * id + 500,
    config: {},
    selected: Object.keys(banks),
    participants: Object.keys(banks),
    banks: Object.fromEntries(Object.entries(banks).map(([b, v]) => [b, { bytesUp: 10, bytesDown: 10, ...v }])),
    durations: {},
    baseModelVersion: id - 1,
    modelVersion: id,
    metrics: null,
    failureReason: null,
  };
}

const excluded: BankReputation = {
  norm: 120.5,
  distance: 119,
  cosine: -0.98,
  score: 5_000,
  excluded: 'multikrum score 5000 is not among the 8 lowest of 10 (byzantineF = 2)',
  outlier: 'excluded: multikrum score 5000 is not among the 8 lowest of 10 (byzantineF = 2)',
};
const fine: BankReputation = { norm: 1.2, distance: 0.4, cosine: 0.93, score: 12 };

describe('GET /api/banks/:id and the quarantine lift', () => {
  const dir = tempDir();
  let agg: RunningAggregator;
  beforeAll(async () => {
    agg = await startTestAggregator(dir, { rules: { quarantineAfterExclusions: 2 } as never }); // merged over the helper's rules
    await createBank(agg, 'bank-a');
    await createBank(agg, 'bank-b');
    await agg.store.saveRound(
      round(1, { 'bank-a': { weight: 0.5, reputation: fine }, 'bank-b': { weight: 0.5, reputation: fine } }),
    );
    await agg.store.saveRound(
      round(2, { 'bank-a': { weight: 0, reputation: excluded }, 'bank-b': { weight: 1, reputation: fine } }),
    );
    await agg.store.saveRound(
      round(3, { 'bank-a': { weight: 0, reputation: excluded }, 'bank-b': { weight: 1, reputation: fine } }),
    );
  });
  afterAll(async () => {
    await agg?.close();
    cleanup(dir);
  });

  it('returns the view, the history newest first (limit) and the quarantine state', async () => {
    const res = await api<BankDetailView>(agg, 'GET', '/api/banks/bank-a?limit=2', undefined, VIEWER);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('bank-a');
    expect(res.body.connected).toBe(false);
    expect(res.body.history.map((h) => h.roundId)).toEqual([3, 2]);
    expect(res.body.history[0]).toEqual({
      roundId: 3,
      startedAt: 3_000,
      status: 'committed',
      weight: 0,
      rejected: null,
      reputation: excluded,
    });
    expect(res.body.quarantine).toEqual({
      afterExclusions: 2,
      quarantined: true,
      streak: 2,
      sinceRound: 3,
      lifted: null,
    });
    const b = await api<BankDetailView>(agg, 'GET', '/api/banks/bank-b', undefined, VIEWER);
    expect(b.body.history.map((h) => h.roundId)).toEqual([3, 2, 1]);
    expect(b.body.quarantine.quarantined).toBe(false);
  });

  it('refuses bad input and unknown banks with clear errors', async () => {
    expect((await api(agg, 'GET', '/api/banks/nope')).status).toBe(404);
    expect((await api(agg, 'GET', '/api/banks/bank-a?limit=0')).status).toBe(400);
    expect((await api(agg, 'GET', '/api/banks/bank-a?limit=501')).status).toBe(400);
    expect((await api(agg, 'POST', '/api/banks/nope/quarantine/lift')).status).toBe(404);
    const notQ = await api<{ message: string }>(agg, 'POST', '/api/banks/bank-b/quarantine/lift');
    expect(notQ.status).toBe(409);
    expect(notQ.body.message).toBe('bank "bank-b" is not quarantined (0 of 2 consecutive excluded rounds)');
  });

  it('only an admin lifts; the lift is audited, persisted, and restarts the count', async () => {
    expect((await api(agg, 'POST', '/api/banks/bank-a/quarantine/lift', undefined, VIEWER)).status).toBe(403);
    const lifted = await api<{ id: string; lifted: { afterRound: number; by: string } }>(
      agg,
      'POST',
      '/api/banks/bank-a/quarantine/lift',
    );
    expect(lifted.status).toBe(200);
    expect(lifted.body.lifted.afterRound).toBe(3);
    const after = await api<BankDetailView>(agg, 'GET', '/api/banks/bank-a');
    expect(after.body.quarantine).toMatchObject({ quarantined: false, streak: 0, lifted: { afterRound: 3 } });
    expect((await api(agg, 'POST', '/api/banks/bank-a/quarantine/lift')).status).toBe(409);
    const audit = await api<{ type: string; details: Record<string, unknown> }[]>(agg, 'GET', '/api/audit');
    const entry = audit.body.find((e) => e.type === 'bank.quarantine_lifted');
    expect(entry?.details).toEqual({ bankId: 'bank-a', sinceRound: 3, streak: 2, afterRound: 3 });
    // One more excluded round is not enough again: the count restarted after round 3.
    await agg.store.saveRound(round(4, { 'bank-a': { weight: 0, reputation: excluded } }));
    // Written behind the federation's back: a restart counts it (the lift and its count are stored).
    await agg.close();
    agg = await startTestAggregator(dir, { rules: { quarantineAfterExclusions: 2 } as never });
    const one = await api<BankDetailView>(agg, 'GET', '/api/banks/bank-a');
    expect(one.body.quarantine).toMatchObject({ quarantined: false, streak: 1 });
  });
});
