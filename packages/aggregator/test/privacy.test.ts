/**
 * Differential privacy across real rounds: banks clip and noise their updates, both
 * sides account ε per bank per round, a bank declines the round that would exceed its
 * own budget, and the aggregator stops when every bank is over the federation's budget.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdpAccountant } from '@finsecure/common/dp';
import type { BankClient } from '@finsecure/bank-client';
import {
  api,
  cleanup,
  createBank,
  listRounds,
  startBank,
  startTestAggregator,
  tempDir,
  waitFor,
  waitRounds,
  writeShards,
} from './helpers/federation.js';

let dir: string;
let shards: string[];
beforeAll(async () => {
  dir = tempDir('finsecure-dp-');
  shards = await writeShards(dir, 2, 500);
});
afterAll(() => cleanup(dir));

const Z = 2;
const DELTA = 1e-5;
function epsilonAfter(rounds: number): number {
  const acc = new RdpAccountant();
  acc.addGaussian(Z, rounds);
  return acc.epsilon(DELTA).epsilon;
}

describe('differential privacy in rounds', () => {
  it('accounts ε per bank per round and a bank declines the round that would exceed its budget', async () => {
    // A budget between ε after 2 and after 3 releases: two rounds fit, the third does not.
    const budget = (epsilonAfter(2) + epsilonAfter(3)) / 2;
    const agg = await startTestAggregator(path.join(dir, 'bank-budget'), {
      autoStart: true,
      rules: { rounds: 3, roundTimeoutMs: 10_000 } as never,
    });
    const banks: BankClient[] = [];
    try {
      for (const [i, id] of ['a', 'b'].entries()) {
        banks.push(
          await startBank(agg, id, await createBank(agg, id), shards[i]!, path.join(dir, 'bank-budget', id), {
            dpClip: 0.5,
            dpNoiseMultiplier: Z,
            dpDelta: DELTA,
            dpEpsilonBudget: budget,
            insecureDpSeed: 7 + i,
          }),
        );
      }
      const rounds = (
        await waitRounds(
          agg,
          (r) => r.filter((x) => x.status === 'committed' || x.status === 'failed').length >= 3,
          'three rounds',
        )
      ).reverse();
      expect(rounds.slice(0, 2).map((r) => r.status)).toEqual(['committed', 'committed']);
      expect(rounds[0]!.banks.a!.epsilon).toBeCloseTo(epsilonAfter(1), 9);
      expect(rounds[1]!.banks.a!.epsilon).toBeCloseTo(epsilonAfter(2), 9);
      expect(rounds[1]!.banks.b!.epsilon).toBeCloseTo(epsilonAfter(2), 9);
      const third = rounds[2]!;
      expect(third.status).toBe('failed');
      expect(third.failureReason).toMatch(/declined: privacy budget ε=.* would be exceeded/);
      const privacy = await api<{ epsilon: Record<string, number> }>(agg, 'GET', '/api/privacy');
      expect(privacy.body.epsilon.a).toBeCloseTo(epsilonAfter(2), 9);
      // Updates really were clipped and noised: the declared DP is in the audit log.
      const audit = await api<{ type: string; details: { dp?: { clip: number; noiseMultiplier: number } } }[]>(
        agg,
        'GET',
        '/api/audit?limit=1000',
      );
      const accepted = audit.body.filter((e) => e.type === 'update.accepted');
      expect(accepted).toHaveLength(4);
      for (const e of accepted) expect(e.details.dp).toMatchObject({ clip: 0.5, noiseMultiplier: Z });
    } finally {
      await Promise.all(banks.map((b) => b.stop()));
      await agg.close();
    }
  });

  it('stops training when every bank would exceed the federation budget', async () => {
    const budget = (epsilonAfter(1) + epsilonAfter(2)) / 2;
    const agg = await startTestAggregator(path.join(dir, 'server-budget'), {
      autoStart: true,
      rules: { rounds: 5, privacyBudgetAction: 'exclude-bank' } as never,
      training: { dp: { clip: 0.5, noiseMultiplier: Z, delta: DELTA, epsilonBudget: budget } } as never,
    });
    const banks: BankClient[] = [];
    try {
      for (const [i, id] of ['a', 'b'].entries()) {
        banks.push(
          await startBank(agg, id, await createBank(agg, id), shards[i]!, path.join(dir, 'server-budget', id), {
            insecureDpSeed: 3 + i,
          }),
        );
      }
      await waitFor(
        'training stopped',
        async () => (await api<{ state: string }>(agg, 'GET', '/api/status')).body.state === 'stopped',
        60_000,
        100,
      );
      const rounds = await listRounds(agg);
      expect(rounds.filter((r) => r.status === 'committed')).toHaveLength(1);
      // The server's DP request was applied by banks that have no DP settings of their own.
      expect(rounds[0]!.banks.a!.epsilon).toBeCloseTo(epsilonAfter(1), 9);
      const audit = await api<{ type: string; details: { reason?: string } }[]>(agg, 'GET', '/api/audit?limit=1000');
      expect(
        audit.body.some((e) => e.type === 'training.control' && /privacy budget/.test(e.details.reason ?? '')),
      ).toBe(true);
    } finally {
      await Promise.all(banks.map((b) => b.stop()));
      await agg.close();
    }
  });
});
