/**
 * A bank evaluates only the candidate of the round it trains in and sent its update in, once, and
 * only rounds after the last it evaluated, with at most evaluationMaxBins bins (frame-dispatch.ts
 * admitEvaluation): a real BankClient against a server on 127.0.0.1 that speaks the protocol as a
 * dishonest aggregator might. Before, a bank answered any evaluation request at any time, so an
 * aggregator could ask again and again with weights whose score is one feature and read a test
 * row's value out of the histograms; later, a round assigned again, or a secure round whose masked
 * update was never sent, still opened another evaluation (egress reviews).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAINING } from '@finsecure/aggregator';
import { AGGREGATOR_FEATURES } from '@finsecure/common/protocol';
import { cleanup, tempDir } from '../../aggregator/test/helpers/federation.js';
import { scaler, scriptedAggregator, type ScriptedAggregator } from './helpers/scripted-aggregator.js';

let dir: string;
let agg: ScriptedAggregator;

beforeAll(async () => {
  dir = tempDir('finsecure-eval-guard-');
  agg = await scriptedAggregator(dir);
}, 60_000);

afterAll(async () => {
  await agg?.stop();
  cleanup(dir);
});

describe('evaluation requests', () => {
  it('are declined outside a round the bank trains in, answered once in it, then declined', async () => {
    agg.evaluationRequest(7);
    const outside = await agg.next('decline', 7);
    expect(outside.reason).toMatch(/evaluates only the candidate of a round it trains in/);

    agg.assign(8);
    await agg.next('update', 8);
    agg.evaluationRequest(8);
    expect((await agg.next('evaluation', 8)).type).toBe('evaluation');
    agg.evaluationRequest(8);
    expect((await agg.next('decline', 8)).reason).toMatch(/already evaluated round 8/);
    expect(agg.arrived.filter((m) => m.type === 'evaluation')).toEqual([]);
  }, 60_000);

  it('are declined for a round assigned again, an earlier round, and more bins than evaluationMaxBins', async () => {
    // Round 8 was evaluated above: assigned again, the bank trains (an update is its normal
    // answer) but does not evaluate round 8 a second time.
    agg.assign(8);
    await agg.next('update', 8);
    agg.evaluationRequest(8);
    expect((await agg.next('decline', 8)).reason).toMatch(/already evaluated round 8/);

    agg.assign(9);
    await agg.next('update', 9);
    agg.evaluationRequest(9, 1001);
    expect((await agg.next('decline', 9)).reason).toMatch(/at most 1000 histogram bins, round 9 asks for 1001/);
    agg.evaluationRequest(9, 1000); // the refused request did not use up the round's evaluation
    expect((await agg.next('evaluation', 9)).type).toBe('evaluation');

    agg.assign(5);
    await agg.next('update', 5);
    agg.evaluationRequest(5);
    expect((await agg.next('decline', 5)).reason).toMatch(/only rounds after the last it evaluated \(round 9;/);
    expect(agg.arrived.filter((m) => m.type === 'evaluation')).toEqual([]);
  }, 60_000);

  it('are declined in a secure round whose masked update this bank never sent', async () => {
    // An unknown session: SecureFit ignores the step, so no training and no update; the round
    // is nonetheless the one under way.
    agg.send({
      type: 'secagg_masked_fit',
      roundId: 10,
      modelVersion: 0,
      deadlineInMs: 60_000,
      config: { ...DEFAULT_TRAINING, epochs: 1, batchSize: 64 },
      scaler,
      session: randomBytes(16).toString('hex'),
      weighting: { exampleScale: 1, lossExponent: 0, normalizeSteps: false, stepScale: 1 },
      shares: [],
    });
    agg.evaluationRequest(10);
    expect((await agg.next('decline', 10)).reason).toMatch(/and sent its update in \(round 10 is not\)/);
    expect(agg.arrived.filter((m) => m.roundId === 10)).toEqual([]);
  }, 60_000);
});

describe('evaluation histograms on the wire', () => {
  it('go as uint32 tensors to an aggregator whose welcome says it reads them, as JSON arrays to one that does not', async () => {
    // `agg` (above) welcomes with no features: an older aggregator.
    agg.assign(40);
    await agg.next('update', 40);
    agg.evaluationRequest(40);
    const json = await agg.next('evaluation', 40);
    expect(Array.isArray(json.histogram!.positives)).toBe(true);

    const dir2 = tempDir('finsecure-eval-binary-');
    const newer = await scriptedAggregator(dir2, {}, [AGGREGATOR_FEATURES.binaryHistograms]);
    try {
      newer.assign(1);
      await newer.next('update', 1);
      newer.evaluationRequest(1);
      const binary = await newer.next('evaluation', 1);
      expect(binary.histogram!.positives).toBeInstanceOf(Uint32Array);
      expect(binary.histogram!.positives).toHaveLength(1000);
    } finally {
      await newer.stop();
      cleanup(dir2);
    }
  }, 60_000);
});
