/**
 * The SMOTE cap end to end on the bank side: the training config's `smoteMaxMultiplier`
 * is valid on the wire (old configs without it too) and the bank client's `fit` (which
 * the simulation's banks and the local-only arm run) honours it.
 */
import { describe, expect, it } from 'vitest';
import { declareTrainingData, generateSynthetic, stratifiedSplit } from '@finsecure/common/data';
import { initBackend, initWeights, MlpTrainer } from '@finsecure/common/model';
import { TrainingConfig } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { fit } from '@finsecure/bank-client';
import { modelSpec, trainingConfig, RESEARCH_TRAINING } from '../src/training.js';

describe('smoteMaxMultiplier', () => {
  it('is an optional, positive field of the training config', () => {
    const old = { epochs: 1, batchSize: 32, learningRate: 0.01, smoteRatio: 0.1 };
    expect(TrainingConfig.parse(old).smoteMaxMultiplier).toBeUndefined();
    expect(TrainingConfig.parse({ ...old, smoteMaxMultiplier: 2.5 }).smoteMaxMultiplier).toBe(2.5);
    for (const bad of [0, -1, 'five'])
      expect(TrainingConfig.safeParse({ ...old, smoteMaxMultiplier: bad }).success).toBe(false);
    // The research tools send it only when capping.
    const base = { ...RESEARCH_TRAINING, epochs: 1 };
    expect(trainingConfig({ ...base, smoteMaxMultiplier: 3 }, 1).smoteMaxMultiplier).toBe(3);
    expect('smoteMaxMultiplier' in trainingConfig({ ...base, smoteMaxMultiplier: null }, 1)).toBe(false);
  });

  it("is honoured by the bank client's fit: at most m synthetic rows per real fraud", async () => {
    await initBackend('wasm');
    const ds = generateSynthetic({ rows: 3000, fraudRate: 0.004, seed: 3 });
    const train = declareTrainingData(stratifiedSplit(ds, 0.2, createRng(1)).train);
    const realFrauds = train.labels.reduce((n, y) => n + y, 0);
    expect(realFrauds).toBeGreaterThan(2);
    const spec = modelSpec(train.numFeatures);
    const trainer = new MlpTrainer(spec, initWeights(spec, createRng(1)));
    const run = (smoteMaxMultiplier: number | null) =>
      fit(
        trainer,
        initWeights(spec, createRng(1)).data,
        train,
        trainingConfig({ ...RESEARCH_TRAINING, epochs: 1, smoteRatio: 0.1, smoteMaxMultiplier }, 7),
        null,
        createRng(2),
        createRng(3),
        async () => {},
      );
    const capped = await run(2);
    expect(capped.numSynthetic).toBe(2 * realFrauds);
    expect(capped.numTrained).toBe(train.numRows + 2 * realFrauds);
    expect(capped.numExamples).toBe(train.numRows);
    const free = await run(null);
    expect(free.numSynthetic).toBeGreaterThan(20 * realFrauds); // ratio 0.1 at 0.4 % fraud
    trainer.dispose();
  });
});
