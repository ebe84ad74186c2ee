/**
 * Distributed DP under secure aggregation, end to end: a real aggregator running the secagg
 * workflow with `training.dp`, real bank clients over real sockets. Each bank clips its update,
 * weights it and adds only N(0, (zC)²/q) (common/secagg/distributed-dp.ts); the round commits;
 * the masked vectors on the wire still look uniform; the committed model differs from the same
 * round with (almost) no noise by noise of variance (zC)² · (survivors / q) / (Σw)² per
 * coordinate; both ledgers count one Gaussian release with multiplier z per bank per round; a
 * bank past its own budget refuses the masked fit and training stops with the reason.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RdpAccountant } from '@finsecure/common/dp';
import { decodeFrame, FederationClientMessage } from '@finsecure/common/protocol';
import { applySettingsPatch, FederationSettings } from '../src/federation/settings.js';
import { DEFAULT_RULES } from '../src/round/rules.js';
import { api, readBankStateFile, waitFor, waitRounds } from './helpers/federation.js';
import { BANKS, train, useFederation } from './helpers/federation-fixture.js';

const C = 0.5;
const Z = 0.8;
const DELTA = 1e-5;
const QUORUM = 2;

function epsilonAfter(z: number, rounds: number): number {
  return new RdpAccountant().addGaussian(z, rounds).epsilon(DELTA).epsilon;
}

describe('distributed DP with secure aggregation over real sockets', () => {
  const fed = useFederation('finsecure-secagg-dp-');

  /** One secure round of four banks with training.dp {C, z}; returns the model and the frames banks sent. */
  async function federate(name: string, z: number) {
    const { agg, base, tap } = await fed.start(name, {
      aggregator: {
        seed: 7,
        rules: {
          rounds: 1,
          minBanks: 4,
          quorum: QUORUM,
          graceMs: 60_000,
          secureAggregation: true,
          // Plain FedAvg weighting, so the step is Σ wᵢ yᵢ / Σw (τ_eff = 1) and applied at 1.
          normalizeSteps: false,
          lossExponent: 0,
          serverLearningRate: 1,
        } as never,
        training: { smoteRatio: 0, dp: { clip: C, noiseMultiplier: z, delta: DELTA } } as never,
      },
      bank: (i) => ({ seed: 11 + i, insecureDpSeed: 1000 + i }),
      relay: true,
    });
    const rounds = await train(agg);
    const banks = await api<{ id: string; numExamples: number | null }[]>(agg, 'GET', '/api/banks');
    const privacy = await api<{ epsilon: Record<string, number> }>(agg, 'GET', '/api/privacy');
    const result = {
      round: rounds.find((x) => x.status === 'committed')!,
      weights: Float32Array.from(agg.federation.globalModel().weights),
      examples: banks.body.map((b) => b.numExamples!),
      privacy: privacy.body.epsilon,
      frames: tap.frames.slice(),
      base,
    };
    await fed.stopBanks();
    return result;
  }

  it('commits; the model carries noise of variance (zC)²·(survivors/q)/(Σw)²; ε per bank per round is the Gaussian mechanism’s', async () => {
    // The reference: the same seeds and clipping with a negligible noise multiplier.
    const ref = await federate('reference', 1e-6);
    await fed.stop();
    const dp = await federate('dp', Z);
    expect(dp.round.participants.sort()).toEqual(BANKS);
    expect(dp.round.config.rules).toMatchObject({ secureAggregation: true, secaggClip: 0 });
    expect(dp.round.config.training).toMatchObject({ dp: { clip: C, noiseMultiplier: Z } });

    // Noise in the model: the sum of 4 shares of variance (zC)²/2, divided by Σw (step at rate 1).
    const maxExamples = Math.max(...dp.examples);
    const totalWeight = dp.examples.reduce((s, n) => s + n / maxExamples, 0);
    const expected = ((Z * C) ** 2 * (BANKS.length / QUORUM)) / totalWeight ** 2;
    const d = dp.weights.length;
    let s2 = 0;
    let mean = 0;
    for (let j = 0; j < d; j++) {
      const e = dp.weights[j]! - ref.weights[j]!;
      s2 += e * e;
      mean += e;
    }
    s2 /= d;
    mean /= d;
    // Relative standard error of a variance from d normals: √(2/d) (≈ 3 % for the MLP); generous bounds.
    expect(s2 / expected).toBeGreaterThan(1 - 6 * Math.sqrt(2 / d));
    expect(s2 / expected).toBeLessThan(1 + 6 * Math.sqrt(2 / d));
    expect(Math.abs(mean)).toBeLessThan(6 * Math.sqrt(expected / d));
    // With noise shared by q = 2 instead of full local noise per bank, the variance is 4/2 = 2
    // times (zC)²/(Σw)², not 4 times: the √q gain of distributed DP.
    expect(s2).toBeLessThan((0.75 * (Z * C) ** 2 * BANKS.length) / totalWeight ** 2);

    // ε per bank per round: one Gaussian release with multiplier z, on both sides of the wire.
    const eps1 = epsilonAfter(Z, 1);
    for (const b of BANKS) {
      expect(dp.round.banks[b]!.epsilon).toBeCloseTo(eps1, 9);
      expect(dp.privacy[b]).toBeCloseTo(eps1, 9);
      const local = RdpAccountant.fromJSON(JSON.parse(readBankStateFile(path.join(dp.base, b), 'privacy.json')));
      expect(local.epsilon(DELTA).epsilon).toBeCloseTo(eps1, 9);
    }

    // The masked vectors on the wire still look uniform over Z_2^32 (16 buckets of the top 4 bits).
    let masked = 0;
    for (const bytes of dp.frames) {
      const { msg, tensors } = decodeFrame(bytes, FederationClientMessage);
      expect(msg.type).not.toBe('update');
      if (msg.type !== 'secagg_masked_update') continue;
      masked++;
      const words = tensors.get('masked')!.uint32!;
      expect(words.length).toBe(d + 2);
      const buckets = new Array<number>(16).fill(0);
      for (const w of words) buckets[w >>> 28]!++;
      for (const n of buckets) {
        expect(n / words.length).toBeGreaterThan(0.5 / 16);
        expect(n / words.length).toBeLessThan(1.5 / 16);
      }
    }
    expect(masked).toBe(4);
  }, 180_000);

  it('a bank past its own budget refuses the masked fit; training stops with the reason', async () => {
    const ids = BANKS.slice(0, 3);
    // Between ε after one and after two releases: the first round fits, the second does not.
    const budget = (epsilonAfter(Z, 1) + epsilonAfter(Z, 2)) / 2;
    const { agg, base } = await fed.start('budget', {
      banks: ids,
      aggregator: {
        // A long grace period: every stage waits for all three banks (each answers or refuses).
        rules: { rounds: 5, minBanks: 3, quorum: 2, graceMs: 60_000, secureAggregation: true } as never,
        training: { smoteRatio: 0, dp: { clip: C, noiseMultiplier: Z, delta: DELTA } } as never,
      },
      bank: (i) => ({ seed: 21 + i, dpClip: C, dpNoiseMultiplier: Z, dpDelta: DELTA, dpEpsilonBudget: budget }),
    });
    await api(agg, 'POST', '/api/training/start');
    await waitFor('training stopped', async () => agg.federation.status().state === 'stopped', 90_000);
    const rounds = (await waitRounds(agg, (r) => r.length >= 2, 'two rounds')).sort((x, y) => x.id - y.id);
    expect(rounds[0]!.status).toBe('committed');
    expect(rounds[1]!.status).toBe('failed');
    expect(rounds[1]!.failureReason).toMatch(/privacy budget ε=.* would be exceeded/);
    const audit = await api<{ type: string; actor: string; details: Record<string, unknown> }[]>(
      agg,
      'GET',
      '/api/audit?limit=10000',
    );
    expect(rounds[0]!.participants.sort()).toEqual(ids);
    // The second refusal leaves fewer than the quorum and fails the round at once; a refusal that
    // arrives after that is not the round in flight's, but still marks its bank as spent.
    const refused = audit.body.filter((e) => e.type === 'secagg.refused');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const e of refused) expect(ids).toContain(e.actor);
    for (const e of refused) {
      expect(e.details).toMatchObject({ stage: 'masked_fit', code: 'privacy_budget' });
      expect(String(e.details.reason)).toMatch(/privacy budget ε=.* would be exceeded/);
    }
    const stops = audit.body.filter((e) => e.type === 'training.control' && e.details.action === 'stop');
    expect(
      stops.some((e) =>
        /^no round can reach minBanks 3: the privacy budget of bank-.* is spent/.test(String(e.details.reason)),
      ),
    ).toBe(true);
    // Neither side spent more than the one release.
    const privacy = await api<{ epsilon: Record<string, number> }>(agg, 'GET', '/api/privacy');
    for (const id of ids) {
      expect(privacy.body.epsilon[id]).toBeCloseTo(epsilonAfter(Z, 1), 9);
      const local = RdpAccountant.fromJSON(JSON.parse(readBankStateFile(path.join(base, id), 'privacy.json')));
      expect(local.epsilon(DELTA).epsilon).toBeCloseTo(epsilonAfter(Z, 1), 9);
    }
  }, 120_000);

  it('an explicit secaggClip too small for the noise share is refused, naming the setting', () => {
    const training = FederationSettings.parse({
      training: { epochs: 1, batchSize: 32, learningRate: 0.003, smoteRatio: 0, smoteK: 3 },
      rules: { ...DEFAULT_RULES, secureAggregation: true, quorum: 2 },
    });
    const ok = applySettingsPatch(training, { training: { dp: { clip: 1, noiseMultiplier: 1.1 } } });
    expect(ok).not.toBeInstanceOf(Error);
    const bad = applySettingsPatch(training, {
      training: { dp: { clip: 1, noiseMultiplier: 1.1 } },
      rules: { secaggClip: 1 },
    });
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toMatch(/secaggClip 1 cannot carry distributed DP noise.*raise secaggClip/s);
  });
});
