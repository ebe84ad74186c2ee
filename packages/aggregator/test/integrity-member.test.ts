/**
 * What one authenticated (hostile or broken) member bank can no longer do, over real sockets
 * (issue 12, A): poison the scaler from its hello, take over FedAvg with an inflated example
 * count, commit forged metrics, stall the queue with a flood of frames; and what happens when
 * every bank's own privacy budget is spent. DP with a large noise multiplier trains.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode, encodeFrame, PROTOCOL_VERSION } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import type { RunningAggregator } from '../src/index.js';
import {
  api,
  cleanup,
  createBank,
  startTestAggregator,
  tempDir,
  updateAccepted,
  waitFor,
  waitRounds,
} from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { evaluationMessage, RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097;
type Entry = { type: string; actor: string; details: Record<string, unknown> };

async function auditOf(agg: RunningAggregator, type: string): Promise<Entry[]> {
  const r = await api<Entry[]>(agg, 'GET', '/api/audit?limit=10000');
  return r.body.filter((e) => e.type === type);
}

describe('a hostile member bank', () => {
  const fx = rawFixture();
  const { dir, banks } = fx;

  it('cannot poison the scaler: statistics it could not have are refused at hello, naming the feature', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'scaler'));
    const token = await createBank(fx.agg, 'mallory');
    const raw = await RawBank.connect(`${fx.agg.wsUrl}/ws/bank`);
    banks.push(raw);
    const huge = new Array(30).fill(1e300);
    raw.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      bankId: 'mallory',
      token,
      clientVersion: 'raw-test',
      backend: 'cpu',
      numExamples: 100,
      numFeatures: 30,
      featureStats: { count: 1, mean: huge, m2: huge },
    });
    const closed = await raw.waitClosed();
    expect(closed.code).toBe(CloseCode.Incompatible);
    expect(closed.reason).toMatch(/implausible feature statistics/);
    const refused = await auditOf(fx.agg, 'bank.refused');
    expect(refused.some((e) => e.actor === 'mallory' && /feature 0/.test(String(e.details.reason)))).toBe(true);
  });

  it('cannot take over FedAvg with an inflated example count: its weight is bounded and audited', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'weight'), {
      autoStart: true,
      // Plain FedAvg, so that the weights are the bounded counts' shares exactly.
      rules: {
        rounds: 1,
        minBanks: 3,
        quorum: 3,
        evaluationTimeoutMs: 200,
        normalizeSteps: false,
        lossExponent: 0,
        serverLearningRate: 1,
      } as never,
    });
    const counts: Record<string, number> = { alice: 300, bob: 300, mallory: 9e15 };
    for (const id of Object.keys(counts)) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, counts[id]!));
    }
    await Promise.all(
      banks.map(async (b, k) => {
        const id = Object.keys(counts)[k]!;
        const a = await b.next('round_assignment');
        b.send(updateMessage(a.msg, { numExamples: counts[id]!, numTrained: counts[id]! }), [
          { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(id === 'mallory' ? -0.01 : 0.01) },
        ]);
        await updateAccepted(fx.agg!, id, a.msg.roundId);
      }),
    );
    const rounds = await waitRounds(fx.agg, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    const round = rounds.find((r) => r.status === 'committed')!;
    // Bounded to 10 × the median of the others (3,000 of 3,600): no longer weight 1.0.
    expect(round.banks.mallory!.weight).toBeCloseTo(3000 / 3600, 6);
    expect(round.banks.alice!.weight).toBeCloseTo(300 / 3600, 6);
    const bounded = await auditOf(fx.agg, 'bank.weight_bounded');
    expect(bounded.some((e) => e.actor === 'mallory' && e.details.weight === 3000)).toBe(true);
  });

  it('cannot commit forged metrics: an evaluation its histogram or declared rows contradict is refused and audited', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'metrics'), {
      autoStart: true,
      rules: { rounds: 1, minBanks: 2, quorum: 2, evaluationTimeoutMs: 60_000 } as never,
    });
    for (const id of ['alice', 'mallory']) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 300, 30, undefined, 200));
    }
    await Promise.all(
      banks.map(async (b, k) => {
        const a = await b.next('round_assignment');
        b.send(updateMessage(a.msg, { numExamples: 300 }), [
          { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(0.001) },
        ]);
        await updateAccepted(fx.agg!, ['alice', 'mallory'][k]!, a.msg.roundId);
      }),
    );
    const mallory = banks[1]!;
    const req = await mallory.next('evaluation_request');
    const bins = req.msg.histogramBins;
    const positives = new Array(bins).fill(0);
    positives[bins - 1] = 1_000_000;
    mallory.send({
      type: 'evaluation',
      roundId: req.msg.roundId,
      modelVersion: req.msg.modelVersion,
      numExamples: 1_000_000,
      threshold: req.msg.threshold,
      confusion: { tp: 1_000_000, fp: 0, tn: 0, fn: 0 },
      histogram: { bins, scale: 'sigmoid+logit', logitMax: 40, positives, negatives: new Array(bins).fill(0) },
      loss: 0,
      evalMs: 1,
    });
    const ack = await mallory.next('ack');
    expect(ack.msg.accepted).toBe(false);
    expect(ack.msg.reason).toMatch(/declared/);
    const rejected = await waitFor('the audit entry', async () =>
      (await auditOf(fx.agg!, 'evaluation.rejected')).find((e) => e.actor === 'mallory'),
    );
    expect(rejected.details.roundId).toBe(req.msg.roundId);
    // The round machine's refusals (a round that does not exist, a second evaluation) are
    // answered and audited under the bank's name too.
    mallory.send({ ...evaluationMessage(req.msg), roundId: req.msg.roundId + 7 });
    expect((await mallory.next('ack')).msg.reason).toMatch(/^unknown round id/);
    mallory.send(evaluationMessage(req.msg));
    expect((await mallory.next('ack')).msg.accepted).toBe(false);
    const judged = await waitFor('both refusals in the audit log', async () => {
      const mine = (await auditOf(fx.agg!, 'evaluation.rejected')).filter((e) => e.actor === 'mallory');
      return mine.length >= 3 ? mine : undefined;
    });
    expect(judged.map((e) => e.details.reason)).toContainEqual(expect.stringMatching(/^unknown round id/));
    // Mallory is out of the evaluation stage: the round commits on alice's evaluation, not at the
    // 60 s evaluation deadline (the stage has no quorum, and a bank sends no second evaluation).
    const alice = banks[0]!;
    const areq = await alice.next('evaluation_request');
    alice.send(evaluationMessage(areq.msg));
    const committed = await alice.next('round_committed', 30_000);
    expect(committed.msg.roundId).toBe(req.msg.roundId);
    const rounds = await api<{ id: number }[]>(fx.agg!, 'GET', '/api/rounds');
    expect(JSON.stringify(rounds.body.find((r) => r.id === req.msg.roundId))).toContain('evaluation rejected: ');
  });

  it('cannot stall the queue with a flood of frames: it is rate-limited and cut off; one audit entry', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'flood'), {
      autoStart: true,
      rules: { rounds: 1, minBanks: 2, quorum: 1, evaluationTimeoutMs: 200, graceMs: 60_000 } as never,
    });
    for (const id of ['alice', 'mallory']) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 300));
    }
    const [alice, mallory] = banks as [RawBank, RawBank];
    const a = await mallory.next('round_assignment');
    const decline = encodeFrame({ type: 'decline', roundId: a.msg.roundId, reason: 'x'.repeat(400) });
    for (let i = 0; i < 5_000; i++) mallory.sendBytes(decline);
    const closed = await mallory.waitClosed(30_000);
    expect(closed.code).toBe(CloseCode.RateLimited);
    const assignment = await alice.next('round_assignment');
    alice.send(updateMessage(assignment.msg), [{ name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS) }]);
    await updateAccepted(fx.agg, 'alice', assignment.msg.roundId);
    await waitRounds(fx.agg, (rs) => rs.some((r) => r.status === 'committed'), 'the honest round');
    expect((await auditOf(fx.agg, 'round.declined')).filter((e) => e.actor === 'mallory').length).toBeLessThanOrEqual(
      2,
    );
    expect((await auditOf(fx.agg, 'frame.rate_limited')).filter((e) => e.actor === 'mallory').length).toBe(1);
  }, 60_000);

  it('cannot buy itself a rate with frames that each draw an error: garbage and text frames meet the limit too', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'flood-errors'));
    for (const id of ['mallory', 'eve']) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 300));
    }
    const [mallory, eve] = banks as [RawBank, RawBank];
    // Before, each bad_frame error the aggregator sent back credited the bank one more frame.
    const garbage = new TextEncoder().encode('FSF1garbage!');
    for (let i = 0; i < 5_000; i++) mallory.sendBytes(garbage);
    for (let i = 0; i < 5_000; i++) eve.sendBytes('x');
    expect((await mallory.waitClosed(30_000)).code).toBe(CloseCode.RateLimited);
    expect((await eve.waitClosed(30_000)).code).toBe(CloseCode.RateLimited);
    const limited = await waitFor('both audited', async () => {
      const entries = await auditOf(fx.agg!, 'frame.rate_limited');
      return entries.length >= 2 ? entries : null;
    });
    expect(limited.map((e) => e.actor).sort()).toEqual(['eve', 'mallory']);
  }, 60_000);

  it('trains with DP z = 20: the norm bound covers the noise, and the ledger counts what was released', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'dp'), {
      autoStart: true,
      rules: { rounds: 1, minBanks: 2, quorum: 2, evaluationTimeoutMs: 200 } as never,
    });
    for (const id of ['alice', 'bob']) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 300));
    }
    const rng = createRng(5);
    await Promise.all(
      banks.map(async (b, k) => {
        const a = await b.next('round_assignment');
        // Clipped to C = 1, plus N(0, (zC)²) noise per coordinate: norm ≈ 20 √4097 ≈ 1,280 > maxUpdateNorm 1,000.
        const noisy = Float32Array.from({ length: PARAMS }, () => 20 * rng.normal());
        b.send(updateMessage(a.msg, { numExamples: 300, dp: { clip: 1, noiseMultiplier: 20 } }), [
          { name: 'update', shape: [PARAMS], data: noisy },
        ]);
        await updateAccepted(fx.agg!, ['alice', 'bob'][k]!, a.msg.roundId);
      }),
    );
    const rounds = await waitRounds(fx.agg, (rs) => rs.some((r) => r.status === 'committed'), 'a committed DP round');
    expect(rounds[0]!.banks.alice!.epsilon).toBeDefined();
  });

  it('stops training with the reason when every bank declines because its own privacy budget is spent', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'budget'), {
      autoStart: true,
      rules: { rounds: 5, minBanks: 2, quorum: 2 } as never,
    });
    for (const id of ['alice', 'bob']) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 300));
    }
    for (const b of banks) {
      const a = await b.next('round_assignment');
      b.send({ type: 'decline', roundId: a.msg.roundId, reason: 'privacy budget ε=1 would be exceeded (spent 0.990)' });
    }
    await waitFor('training stopped', async () => fx.agg!.federation.status().state === 'stopped');
    const stops = await auditOf(fx.agg, 'training.control');
    expect(stops.some((e) => /privacy budget of alice .* bob .* is spent/.test(String(e.details.reason)))).toBe(true);
    expect((await waitRounds(fx.agg, (rs) => rs.length > 0, 'the failed round')).length).toBe(1);
  });
});

describe('fuzzing an authenticated connection', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  it('malformed and hostile frames from a member bank never crash the aggregator or stop an honest round', async () => {
    const agg = await startTestAggregator(path.join(dir, 'fuzz'), {
      autoStart: true,
      rules: { rounds: 1, minBanks: 2, quorum: 1, evaluationTimeoutMs: 200, graceMs: 60_000 } as never,
    });
    const banks: RawBank[] = [];
    try {
      for (const id of ['alice', 'mallory']) {
        const token = await createBank(agg, id);
        banks.push(await RawBank.join(`${agg.wsUrl}/ws/bank`, id, token, 300));
      }
      const [alice, mallory] = banks as [RawBank, RawBank];
      const a = await mallory.next('round_assignment');
      const rng = createRng(2026);
      const valid = encodeFrame(updateMessage(a.msg), [
        { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS) },
      ]);
      const hostile: (Uint8Array | string)[] = [
        'a text frame',
        new Uint8Array(0),
        valid.subarray(0, 12),
        valid.subarray(0, valid.length - 1),
        encodeFrame({ type: 'update', roundId: a.msg.roundId } as never),
        encodeFrame({ ...updateMessage(a.msg), numExamples: -1 } as never),
        encodeFrame({ ...updateMessage(a.msg), loss: 1e308 }, [
          { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS) },
        ]),
        encodeFrame(updateMessage(a.msg), [
          { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(3e38) },
        ]),
        encodeFrame({ type: 'secagg_keys', roundId: a.msg.roundId, session: '0'.repeat(32) } as never),
        encodeFrame({ type: 'evaluation', roundId: 999, modelVersion: 0 } as never),
      ];
      // 80 frames: hand-made hostile ones, then random bit flips and truncations of a valid update
      // (under the rate limit's burst, so every one reaches the decoder).
      for (let i = 0; i < 80; i++) {
        if (i < hostile.length) {
          mallory.sendBytes(hostile[i]!);
          continue;
        }
        const f = Uint8Array.from(valid.subarray(0, Math.max(8, Math.floor(rng.next() * valid.length))));
        for (let k = 0; k < 4; k++) f[Math.floor(rng.next() * f.length)] ^= 1 << Math.floor(rng.next() * 8);
        mallory.sendBytes(f);
      }
      const assignment = await alice.next('round_assignment');
      alice.send(updateMessage(assignment.msg), [{ name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS) }]);
      await updateAccepted(agg, 'alice', assignment.msg.roundId);
      await waitRounds(agg, (rs) => rs.some((r) => r.status === 'committed'), 'the honest round');
      expect((await api(agg, 'GET', '/api/health')).status).toBe(200);
      expect((await api<{ ok: boolean }>(agg, 'GET', '/api/audit/verify')).body.ok).toBe(true);
    } finally {
      for (const b of banks) b.close();
      await agg.close();
    }
  }, 60_000);
});
