/**
 * Dropouts at every stage of the secagg workflow (issue 13), over real sockets: ten hand-driven
 * banks (helpers/secagg-bank.ts: the real protocol and the pure SecAggBankRound core, a fixed
 * small update instead of training) and a real aggregator with t = 6 and quorum 6. For each stage,
 * four banks lost in that stage still commit a model equal to the FedAvg step of the banks whose
 * masked vectors are in the sum, within the fixed-point bound; five lost fail the round with a
 * reason naming the stage and the lost banks. Then replays: a masked update or unmask shares of
 * round r sent again in round r + 1 are rejected and audited, and the round goes on.
 *
 * One aggregator plays the rounds in sequence; lost banks reconnect between rounds.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import { generateIdentityKeyPair, maxFractionalBits, type SecureWeighting } from '@finsecure/common/secagg';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, createBank, startTestAggregator, tempDir, waitRounds } from './helpers/federation.js';
import {
  expectedStep,
  SECAGG_STAGES,
  SecAggTestBank,
  TEST_EXAMPLES,
  type PlayOptions,
  type PlayResult,
  type SecAggStageName,
} from './helpers/secagg-bank.js';

const N = 10;
const T = 6;
const IDS = Array.from({ length: N }, (_, i) => `bank-${String(i).padStart(2, '0')}`);

/** Bank i's update: distinct per bank, |x| ≤ 0.1, so a bank too many or too few in the sum moves the mean by ~0.01. */
const deltaOf = (i: number) => (j: number) => (0.1 * (((i * 13 + j * 7) % 17) - 8)) / 8;

describe('secure aggregation: dropouts at every stage (10 banks, t = 6)', () => {
  const dir = tempDir();
  let agg: RunningAggregator;
  const banks: SecAggTestBank[] = [];
  const byId = new Map<string, SecAggTestBank>();

  beforeAll(async () => {
    agg = await startTestAggregator(path.join(dir, 'agg'), {
      rules: {
        rounds: 1000,
        minBanks: N,
        quorum: T,
        secaggThreshold: T,
        // Stages close when every bank answered or dropped, never on a timer.
        graceMs: 600_000,
        roundTimeoutMs: 600_000,
        secaggStageTimeoutMs: 600_000,
        // The evaluation pass's stages close when every evaluator answered or dropped too.
        evaluationTimeoutMs: 600_000,
        secureAggregation: true,
      } as never,
      training: { smoteRatio: 0 } as never,
    });
    const url = `${agg.wsUrl}/ws/bank`;
    for (const [i, id] of IDS.entries()) {
      const token = await createBank(agg, id);
      // Different example counts: the banks' FedAvg weights differ (100 … 190 examples).
      const bank = new SecAggTestBank(url, id, token, generateIdentityKeyPair(), 100 + 10 * i, deltaOf(i));
      banks.push(await bank.connect());
      byId.set(id, bank);
    }
    await api(agg, 'POST', '/api/training/start');
  }, 60_000);

  afterAll(async () => {
    for (const b of banks) if (!b.lost) b.raw.close();
    await agg?.close();
    cleanup(dir);
  });

  /** Plays one round with `options(bankId)` per bank; returns its stored record and each bank's result. */
  async function round(options: (bankId: string) => PlayOptions) {
    const played = await Promise.all(banks.map((b) => b.play(options(b.bankId))));
    const roundId = played[0]!.roundId;
    expect(played.every((p) => p.roundId === roundId)).toBe(true);
    const rounds = await waitRounds(
      agg,
      (rs) => rs.some((r) => r.id === roundId && (r.status === 'committed' || r.status === 'failed')),
      `round ${roundId} to end`,
      60_000,
    );
    const record = rounds.find((r) => r.id === roundId)!;
    // Lost banks come back for the next round (minBanks is all ten).
    for (const b of banks) if (b.lost) await b.connect();
    const results = new Map(IDS.map((id, i) => [id, played[i]!.result]));
    return { record, results };
  }

  /** The committed model must be global + η · FedAvg step of exactly `inSum`'s vectors. */
  function expectFedAvgOf(record: RoundRecord, results: Map<string, PlayResult>, inSum: string[]) {
    expect(record.status).toBe('committed');
    expect([...record.participants].sort()).toEqual([...inSum].sort());
    const first = results.get(inSum[0]!)!;
    const weighting = first.weighting as SecureWeighting;
    const rules = record.config.rules as { serverLearningRate: number };
    const inputs = inSum.map((b) => results.get(b)!.input!);
    // The round's f: automatic (0 in the rules) is the most that cannot overflow for its banks, clip 1.
    const f =
      (record.config.rules as { secaggFractionalBits: number }).secaggFractionalBits || maxFractionalBits(1, 1, N);
    const { step, bound } = expectedStep(inputs, weighting.stepScale, f);
    const global = first.global!;
    const eta = rules.serverLearningRate;
    const committed = agg.federation.globalModel().weights;
    expect(committed.length).toBe(global.length);
    let worst = 0;
    let moved = 0;
    for (let j = 0; j < global.length; j++) {
      const want = global[j]! + eta * step[j]!;
      // Plus float32 rounding of the stored weight (half an ulp, |w| < 4 here).
      const tol = eta * bound[j]! + 2 ** -22;
      const err = Math.abs(committed[j]! - want);
      worst = Math.max(worst, err / tol);
      moved = Math.max(moved, Math.abs(committed[j]! - global[j]!));
    }
    expect(worst).toBeLessThanOrEqual(1);
    // The step is not lost in the tolerance (~1e-7): the model moved by thousands of times more.
    expect(moved).toBeGreaterThan(1e-3);
  }

  // Which banks are lost: spread over the list, and different per stage.
  const lostSet = (stage: SecAggStageName, k: number) => {
    const s = SECAGG_STAGES.indexOf(stage);
    return Array.from({ length: k }, (_, i) => IDS[(s + 2 * i) % N]!);
  };

  for (const stage of SECAGG_STAGES) {
    it(`four banks lost in ${stage}: the round commits the FedAvg of the banks in the sum`, async () => {
      const lost = lostSet(stage, 4);
      const { record, results } = await round((b) => ({ loseAt: lost.includes(b) ? stage : null }));
      expect(record.failureReason).toBeNull();
      // Banks lost after their masked vector entered the sum (consistency check, unmask) are still in
      // it: their self masks are rebuilt from the survivors' seed shares.
      const inSum = ['consistency_check', 'unmask'].includes(stage) ? IDS : IDS.filter((b) => !lost.includes(b));
      expectFedAvgOf(record, results, inSum);
      // Lost before their vector was in the sum: the round says why each is missing.
      if (!['consistency_check', 'unmask'].includes(stage))
        for (const b of lost) expect(record.banks[b]!.rejected).toMatch(new RegExp(`^${stage}: disconnected`));
    }, 60_000);

    it(`five banks lost in ${stage}: the round fails, naming the stage and the banks`, async () => {
      const lost = lostSet(stage, 5);
      const { record } = await round((b) => ({ loseAt: lost.includes(b) ? stage : null }));
      expect(record.status).toBe('failed');
      const reason = record.failureReason!;
      expect(reason).toContain(stage);
      for (const b of lost) expect(reason).toContain(b);
      expect(record.modelVersion).toBeNull();
      // The stored stage summary shows where the round stopped and who dropped there.
      const summary = record.stages?.find((s) => s.name === stage);
      expect(summary).toBeDefined();
      expect(Object.keys(summary!.dropped).sort()).toEqual([...lost].sort());
    }, 60_000);
  }

  // The evaluation pass (fresh keys, its own session): the committed metrics are exactly the
  // pooled counts of the banks whose masked counts are in its sum; when it cannot finish, the
  // trained model is still committed, without metrics, and the round says why.
  for (const stage of SECAGG_STAGES) {
    it(`secure evaluation, banks lost in ${stage}: four still give the exact pooled counts, five leave the round without metrics`, async () => {
      const four = lostSet(stage, 4);
      const { record, results } = await round((b) => ({ loseAtEvaluation: four.includes(b) ? stage : null }));
      expect(record.status).toBe('committed');
      expect(record.participants).toHaveLength(N);
      const inSum = ['consistency_check', 'unmask'].includes(stage) ? IDS : IDS.filter((b) => !four.includes(b));
      const want = { tp: 0, fp: 0, tn: 0, fn: 0 };
      for (const b of inSum)
        for (const k of ['tp', 'fp', 'tn', 'fn'] as const) want[k] += results.get(b)!.evaluation![k];
      const m = record.metrics!;
      expect({ tp: m.tp, fp: m.fp, tn: m.tn, fn: m.fn }).toEqual(want);
      expect(m.evalExamples).toBe(TEST_EXAMPLES * inSum.length);
      expect(m.auprc).toBeGreaterThan(0);
      // No bank's own counts were ever stored: the round has no per-bank metrics.
      for (const b of IDS) expect(record.banks[b]?.metrics).toBeUndefined();

      const five = lostSet(stage, 5);
      const failed = await round((b) => ({ loseAtEvaluation: five.includes(b) ? stage : null }));
      expect(failed.record.status).toBe('committed');
      expect(failed.record.participants).toHaveLength(N);
      expect(failed.record.metrics?.auprc).toBeUndefined();
      const last = failed.record.stages!.at(-1)!;
      expect(last.note, JSON.stringify(failed.record.stages)).toMatch(/^secure evaluation: .*fewer than t = 6/);
    });
  }

  it('a masked update sent without an upload grant is refused and audited; every masked update in the sum came through a grant', async () => {
    const before = agg.federation.uploadStats();
    const a = IDS[3]!;
    const r = await round((id) =>
      id === a
        ? {
            // Once its honest upload is in, the same frame again, without an offer or a grant.
            before: {
              unmask: (played) => {
                const copy = played.sent.maskedUpdate!;
                byId.get(a)!.raw.send(copy.msg, copy.tensors, 'ungranted');
              },
            },
          }
        : {},
    );
    expectFedAvgOf(r.record, r.results, IDS);
    const refused = await byId.get(a)!.raw.next('ack');
    expect(refused.msg).toMatchObject({ of: 'update', accepted: false });
    expect(refused.msg.reason).toMatch(/no upload grant/);
    const after = agg.federation.uploadStats();
    expect(after.ungranted - before.ungranted).toBe(1);
    expect(after.granted - before.granted).toBe(N);
    expect(after.peakInFlight).toBeLessThanOrEqual(4);
  });

  it('a masked update or unmask shares of round r replayed in round r + 1 are rejected and audited; the round goes on', async () => {
    // Round r: everyone honest; keep what the banks sent.
    const r = await round(() => ({}));
    expectFedAvgOf(r.record, r.results, IDS);
    const [a, b, c] = [IDS[0]!, IDS[1]!, IDS[2]!];
    const sent = (id: string) => r.results.get(id)!.sent;
    // Round r + 1: bank-00 replays its round-r masked update verbatim before its honest one, bank-02
    // its round-r unmask shares before its honest ones (two banks: repeated rejections of one bank
    // are coalesced into one audit entry later); bank-01 relabels its round-r masked vector (and
    // signature) with round r + 1's ids and model version, in place of its update.
    const next = await round((id) => {
      if (id === a)
        return {
          // The replayed frame itself, sent as an attacker would: without an offer or a grant.
          before: {
            masked_fit: () =>
              byId.get(a)!.raw.send(sent(a).maskedUpdate!.msg, sent(a).maskedUpdate!.tensors, 'ungranted'),
          },
        };
      if (id === c) return { before: { unmask: () => byId.get(c)!.raw.send(sent(c).unmaskShares!) } };
      if (id === b)
        return {
          maskedUpdate: (honest) => ({
            msg: { ...sent(b).maskedUpdate!.msg, ...ids(honest.msg) } as typeof honest.msg,
            tensors: sent(b).maskedUpdate!.tensors,
          }),
        };
      return {};
    });
    expect(next.record.id).toBe(r.record.id + 1);
    // bank-01's relabelled vector fails its signature check (it binds round r's id): bank-01 is
    // dropped from the sum, its pairwise masks removed from its key shares; the other nine commit.
    expect(next.record.banks[b]!.rejected, next.record.banks[b]!.rejected).toMatch(
      /^masked_fit: .*signature does not verify/,
    );
    expectFedAvgOf(
      next.record,
      next.results,
      IDS.filter((x) => x !== b),
    );
    type Entry = { type: string; actor: string; details: Record<string, unknown> };
    const audit = await api<Entry[] | { entries: Entry[] }>(agg, 'GET', '/api/audit?limit=10000');
    const entries = Array.isArray(audit.body) ? audit.body : audit.body.entries;
    const rejected = entries.filter((e) => e.type === 'secagg.rejected');
    const text = (e: Entry) => JSON.stringify(e.details);
    // The verbatim replays name round r: refused as not the round in flight.
    const replay = (actor: string, type: string) =>
      rejected.find((e) => e.actor === actor && e.details.roundId === r.record.id && e.details.type === type);
    expect(replay(a, 'secagg_masked_update'), JSON.stringify(rejected)).toBeDefined();
    expect(replay(c, 'secagg_unmask_shares'), JSON.stringify(rejected)).toBeDefined();
    expect(text(replay(a, 'secagg_masked_update')!)).toMatch(/not the round in flight/);
    // The relabelled one is audited with the signature failure.
    expect(rejected.some((e) => e.actor === b && /signature does not verify/.test(text(e)))).toBe(true);
    // Each refused bank was told, as a refused update is answered: an error frame with the reason.
    const told = (id: string) =>
      byId
        .get(id)!
        .raw.received.filter((x) => x.msg.type === 'error' && x.msg.code === 'secagg_rejected')
        .map((x) => (x.msg as { message: string }).message);
    expect(told(a)).toContainEqual(expect.stringMatching(/^secagg_masked_update: not the round in flight/));
    expect(told(c)).toContainEqual(expect.stringMatching(/^secagg_unmask_shares: not the round in flight/));
    expect(told(b)).toContainEqual(
      expect.stringMatching(/^secagg_masked_update refused in masked_fit: .*signature does not verify/),
    );
  }, 60_000);

  it("round r's unmask shares relabelled to round r + 1 are refused on arrival, naming their sender; the round commits", async () => {
    // Decrypted shares carry no round binding of their own; each dealer announced the digest of
    // every share it dealt (bound to round, dealer and holder), so a share from another round
    // fails its digest when it arrives: its sender is named and dropped from the unmask stage,
    // and the other nine banks' shares (t = 6) unmask the exact sum.
    const r = await round(() => ({}));
    expectFedAvgOf(r.record, r.results, IDS);
    const c = IDS[3]!;
    const old = r.results.get(c)!.sent.unmaskShares!;
    const next = await round((id) =>
      id === c ? { unmaskShares: (honest) => ({ ...old, ...ids(honest) }) as typeof honest } : {},
    );
    // bank-03's masked update is in the sum; only its reveal was refused.
    expectFedAvgOf(next.record, next.results, IDS);
    const unmask = next.record.stages!.find((st) => st.name === 'unmask')!;
    expect(unmask.dropped[c]).toMatch(
      new RegExp(
        `^${c}'s seed share of bank-\\d+ does not match what bank-\\d+ committed to at share keys \\(replayed or altered\\)`,
      ),
    );
  }, 60_000);
});

/** The round id, session and model version of a message (to relabel another round's frame). */
function ids(msg: unknown): { roundId: number; session: string; modelVersion?: number } {
  const m = msg as { roundId: number; session: string; modelVersion?: number };
  return {
    roundId: m.roundId,
    session: m.session,
    ...(m.modelVersion !== undefined ? { modelVersion: m.modelVersion } : {}),
  };
}
