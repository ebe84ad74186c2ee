/**
 * A hostile bank over real sockets: five raw banks answer each round, four with honest
 * deltas close to each other and one with an honest-looking delta scaled ×100 (a boosting
 * attack; its norm, about 45, passes the fixed maxUpdateNorm of 1000). Multi-Krum (f = 1)
 * and the trimmed mean (β = 0.2) keep the committed model at or near the honest
 * aggregate; FedAvg, run on the same updates after an admin switches strategy, does not.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, createBank, startTestAggregator, updateAccepted, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097; // the default 30-64-32-1 MLP
const BANKS = ['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e'];
const HOSTILE = 'bank-e';
const EXAMPLES: Record<string, number> = { 'bank-a': 100, 'bank-b': 200, 'bank-c': 300, 'bank-d': 400, 'bank-e': 500 };

/** Honest banks share a direction plus a little bank-specific noise; the hostile one boosts its own ×100. */
function deltaOf(bankId: string, roundId: number): Float32Array {
  const k = BANKS.indexOf(bankId) + 1;
  const honest = Float32Array.from(
    { length: PARAMS },
    (_, i) => 0.01 * Math.sin(i + roundId) + 0.001 * Math.cos(k * 7.3 * i + roundId),
  );
  if (bankId === HOSTILE) for (let i = 0; i < PARAMS; i++) honest[i] = honest[i]! * 100;
  return honest;
}

/** The example-weighted mean of the honest banks' deltas (what FedAvg would do without the attacker). */
function honestAggregate(roundId: number): Float64Array {
  const out = new Float64Array(PARAMS);
  const honest = BANKS.filter((b) => b !== HOSTILE);
  const total = honest.reduce((n, b) => n + EXAMPLES[b]!, 0);
  for (const b of honest) {
    const d = deltaOf(b, roundId);
    for (let i = 0; i < PARAMS; i++) out[i] += (EXAMPLES[b]! / total) * d[i]!;
  }
  return out;
}

function distance(after: Float32Array, before: Float32Array, step: Float64Array): number {
  let s = 0;
  for (let i = 0; i < PARAMS; i++) s += (after[i]! - before[i]! - step[i]!) ** 2;
  return Math.sqrt(s);
}

describe('a bank sending a ×100 scaled update', () => {
  const fx = rawFixture();
  const { dir, banks } = fx;

  async function playRound(): Promise<number> {
    let roundId = 0;
    await Promise.all(
      banks.map(async (b, k) => {
        const a = await b.next('round_assignment');
        roundId = a.msg.roundId;
        const id = BANKS[k]!;
        b.send(updateMessage(a.msg, { numExamples: EXAMPLES[id]! }), [
          { name: 'update', shape: [PARAMS], data: deltaOf(id, roundId) },
        ]);
        await updateAccepted(fx.agg!, id, a.msg.roundId);
      }),
    );
    return roundId;
  }

  const committed = (n: number) =>
    waitRounds(fx.agg!, (rs) => rs.filter((r) => r.status === 'committed').length >= n, `${n} committed round(s)`);

  async function next(rules: Record<string, unknown>, rounds: number) {
    const changed = await api(fx.agg!, 'PUT', '/api/config', { rules: { ...rules, rounds } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await api(fx.agg!, 'POST', '/api/training/start')).status).toBeLessThan(300);
  }

  it('is left out by Multi-Krum and trimmed by the trimmed mean; FedAvg follows it', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'agg'), {
      autoStart: true,
      rules: {
        rounds: 1,
        minBanks: 5,
        quorum: 5,
        strategy: 'multikrum',
        byzantineF: 1,
        // Raw banks do not evaluate: the evaluation stage closes at its (short) deadline.
        evaluationTimeoutMs: 200,
      } as never,
    });
    for (const id of BANKS) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, EXAMPLES[id]!));
    }

    // Round 1, Multi-Krum (m = n − f = 4): exactly the honest aggregate, the attacker weighs 0.
    const before1 = Float32Array.from(fx.agg.federation.globalModel().weights);
    const r1 = await playRound();
    const rounds1 = await committed(1);
    const after1 = Float32Array.from(fx.agg.federation.globalModel().weights);
    const honest1 = honestAggregate(r1);
    expect(distance(after1, before1, honest1)).toBeLessThan(1e-4);
    const record1 = rounds1.find((r) => r.id === r1)!;
    expect(record1.config).toMatchObject({ strategy: 'multikrum', rules: { byzantineF: 1 } });
    expect(record1.banks[HOSTILE]!.weight).toBe(0);
    expect(record1.banks['bank-d']!.weight).toBeCloseTo(0.4, 6);

    // Round 2, trimmed mean (β = 0.2: one value dropped from each end of every coordinate).
    await next({ strategy: 'trimmed-mean', byzantineF: 0, trimFraction: 0.2 }, 2);
    const r2 = await playRound();
    await committed(2);
    const after2 = Float32Array.from(fx.agg.federation.globalModel().weights);
    const trimmedOff = distance(after2, after1, honestAggregate(r2));

    // Round 3, plain FedAvg (example-weighted mean, no step normalisation, loss weighting or
    // server learning rate) on the same kind of updates.
    await next(
      { strategy: 'fedavg', trimFraction: 0.1, normalizeSteps: false, lossExponent: 0, serverLearningRate: 1 },
      3,
    );
    const r3 = await playRound();
    await committed(3);
    const after3 = Float32Array.from(fx.agg.federation.globalModel().weights);
    const fedAvgOff = distance(after3, after2, honestAggregate(r3));

    // The honest step has norm about 0.45; FedAvg is off by about 500/1500 × 99 × that (≈ 15).
    const honestNorm = Math.sqrt(honestAggregate(r3).reduce((s, x) => s + x * x, 0));
    expect(fedAvgOff).toBeGreaterThan(10 * honestNorm);
    expect(trimmedOff).toBeLessThan(0.1 * honestNorm);
    expect(fedAvgOff).toBeGreaterThan(100 * trimmedOff);
  });
});
