/**
 * The defaults are one set, chosen by measurement (bench/RESULTS.md, "Choosing the
 * defaults"): the research tools run exactly the aggregator's defaults, and with them the
 * default demo (what `npm start` runs: 60,000 synthetic rows at 1 % fraud, 3 banks,
 * Dirichlet α = 1, ≥ 5 frauds per bank, seed 42, 20 % test) does not lose AUPRC as rounds
 * go on. Plain FedAvg at the previous defaults (local lr 0.001, uncapped SMOTE) peaks in
 * round 2 and falls from there (0.878 → 0.866 by round 5, 0.846 by round 20), so the check
 * can fail; the measured defaults rise to round 5 (0.810 → 0.885) and stay within 0.01 of
 * their best through round 20 (0.876; a slow drift to 0.867 by round 40, bench/RESULTS.md).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, DEFAULT_TRAINING } from '@finsecure/aggregator';
import { prepareExperiment } from '../src/experiment.js';
import { runSimulation } from '../src/simulate.js';
import { RESEARCH_STRATEGY, RESEARCH_TRAINING } from '../src/training.js';
import { smoteCapOf } from '../src/cli-support.js';

describe('the default settings', () => {
  it('are the same in the research tools as in the aggregator (and so in npm start and compose)', () => {
    expect(RESEARCH_STRATEGY).toEqual({
      maxShare: DEFAULT_RULES.maxShare,
      normalizeSteps: DEFAULT_RULES.normalizeSteps,
      lossExponent: DEFAULT_RULES.lossExponent,
      serverLearningRate: DEFAULT_RULES.serverLearningRate,
      serverMomentum: DEFAULT_RULES.serverMomentum,
    });
    expect(RESEARCH_TRAINING).toMatchObject({
      epochs: DEFAULT_TRAINING.epochs,
      batchSize: DEFAULT_TRAINING.batchSize,
      learningRate: DEFAULT_TRAINING.learningRate,
      smoteRatio: DEFAULT_TRAINING.smoteRatio,
      smoteMaxMultiplier: DEFAULT_TRAINING.smoteMaxMultiplier,
    });
    // The measured choice (bench/RESULTS.md).
    expect(RESEARCH_STRATEGY).toEqual({
      maxShare: 1,
      normalizeSteps: true,
      lossExponent: 0.5,
      serverLearningRate: 0.3,
      serverMomentum: 0,
    });
    expect(RESEARCH_TRAINING).toMatchObject({ learningRate: 0.003, smoteMaxMultiplier: 5 });
  });

  it('do not lose AUPRC over the first rounds of the default demo', { timeout: 300_000 }, async () => {
    const exp = await prepareExperiment({
      synthetic: 60_000,
      fraudRate: 0.01,
      seed: 42,
      banks: 3,
      scheme: 'dirichlet',
      alpha: 1,
      minFraudPerBank: 5,
      split: 'stratified',
      testFraction: 0.2,
    });
    const result = await runSimulation(exp, {
      ...RESEARCH_TRAINING,
      smoteMaxMultiplier: smoteCapOf(RESEARCH_TRAINING),
      rounds: 5,
      strategy: RESEARCH_STRATEGY,
      backend: 'wasm',
    });
    const auprc = result.rounds.map((r) => r.metrics!.auprc);
    expect(auprc).toHaveLength(5);
    // Within 0.005 of the best so far in every round after the first two (plain FedAvg at the
    // previous defaults: 0.872, 0.874, 0.866 after a best of 0.878).
    for (let r = 2; r < auprc.length; r++) expect(auprc[r]).toBeGreaterThan(Math.max(...auprc.slice(0, r)) - 0.005);
    expect(auprc[4]).toBeGreaterThan(0.87);
  });
});
