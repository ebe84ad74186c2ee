/**
 * The evaluation gate (rules.maxAuprcDrop) over real sockets: a candidate whose federated AUPRC
 * falls more than the allowed amount below the last committed model's is not committed; the
 * round fails with that reason and the global model stays as it was.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { confusionAt, logitHistogram } from '@finsecure/common/metrics';
import { createBank, startTestAggregator, updateAccepted, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097;
const BANKS = ['bank-a', 'bank-b'];

/** An honest-looking evaluation of 200 rows (20 frauds) whose scores rank the frauds `good`ly or not. */
function evaluation(
  req: { roundId: number; modelVersion: number; threshold: number; histogramBins: number },
  good: boolean,
) {
  const labels = new Uint8Array(200);
  for (let i = 0; i < 20; i++) labels[i] = 1;
  const logits = Float32Array.from({ length: 200 }, (_, i) =>
    good ? (labels[i] ? 3 : -3) : Math.sin(i * 12.9898) * 3,
  );
  const probabilities = logits.map((z) => 1 / (1 + Math.exp(-z)));
  return {
    type: 'evaluation' as const,
    roundId: req.roundId,
    modelVersion: req.modelVersion,
    numExamples: 200,
    threshold: req.threshold,
    confusion: confusionAt(probabilities, labels, req.threshold),
    histogram: logitHistogram(logits, labels, req.histogramBins),
    loss: 0.3,
    evalMs: 1,
  };
}

describe('the evaluation gate', () => {
  const fx = rawFixture();
  const { dir, banks } = fx;

  async function playRound(good: boolean): Promise<void> {
    await Promise.all(
      banks.map(async (b, k) => {
        const a = await b.next('round_assignment');
        b.send(updateMessage(a.msg, { numExamples: 300 }), [
          { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(0.001) },
        ]);
        await updateAccepted(fx.agg!, BANKS[k]!, a.msg.roundId);
        const req = await b.next('evaluation_request');
        b.send(evaluation(req.msg, good));
      }),
    );
  }

  it('fails a round whose AUPRC drops more than maxAuprcDrop, keeping the model', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'agg'), {
      autoStart: true,
      rules: { rounds: 2, minBanks: 2, quorum: 2, maxAuprcDrop: 0.1 } as never,
    });
    for (const id of BANKS) {
      const token = await createBank(fx.agg, id);
      // Declares its 200 test rows: evaluations are checked against them.
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 300, 30, undefined, 200));
    }
    await playRound(true);
    await waitRounds(fx.agg, (rs) => rs.some((r) => r.status === 'committed'), 'round 1 committed');
    const v1 = fx.agg.federation.globalModel().version;
    await playRound(false);
    const rounds = await waitRounds(fx.agg, (rs) => rs.some((r) => r.status === 'failed'), 'round 2 failed');
    const failed = rounds.find((r) => r.status === 'failed')!;
    expect(failed.failureReason).toMatch(
      /^evaluation gate: federated AUPRC 0\.\d+ is 0\.\d+ below the last committed model's 1\.0000 \(maxAuprcDrop 0\.1\)$/,
    );
    expect(failed.metrics?.auprc).toBeLessThan(0.9);
    expect(fx.agg.federation.globalModel().version).toBe(v1);
    // Every update and evaluation was taken (only refusals are answered with an ack).
    expect(banks.flatMap((b) => b.received).filter((r) => r.msg.type === 'ack')).toEqual([]);
  }, 60_000);
});
