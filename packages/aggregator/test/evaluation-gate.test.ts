/**
 * The evaluation gate (rules.maxAuprcDrop) over real sockets: a candidate whose federated AUPRC
 * falls more than the allowed amount below the last committed model's is not committed; the
 * round fails with that reason and the global model stays as it was.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBank, startTestAggregator, updateAccepted, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { evaluationMessage, RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097;
const BANKS = ['bank-a', 'bank-b'];

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
        b.send(evaluationMessage(req.msg, good));
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
