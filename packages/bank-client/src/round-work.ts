/**
 * What a bank does with one task: train on its own data and turn the result into an
 * update (delta, optionally clipped and noised), or score a candidate model on its test
 * split and reduce the scores to counts. Only these aggregates ever leave the bank.
 */
import { confusionAt, logitHistogram } from '@finsecure/common/metrics';
import { binaryCrossEntropy, MlpTrainer, manifestFor } from '@finsecure/common/model';
import { privatizeUpdate } from '@finsecure/common/dp';
import type { Confusion, ScoreHistogram, TrainingConfig } from '@finsecure/common/protocol';
import type { TrainingSplit } from '@finsecure/common/data';
import { smote } from '@finsecure/common/smote';
import type { Dataset } from '@finsecure/common';
import type { Rng } from '@finsecure/common/rng';
import { feedbackRowsOf } from './local-data.js';

export interface FitOutput {
  delta: Float32Array;
  /** The bank's own training rows: the FedAvg weight (analyst-label copies left out, local-data.ts). */
  numExamples: number;
  /** Analyst-label rows trained on in addition (feedback loop; included in numTrained). */
  numFeedback: number;
  numTrained: number;
  numSynthetic: number;
  loss: number;
  trainMs: number;
  prepareMs: number;
  dp?: { clip: number; noiseMultiplier: number; clipped: boolean };
}

export interface EffectiveDp {
  clip: number;
  noiseMultiplier: number;
}

export async function fit(
  trainer: MlpTrainer,
  global: Float32Array,
  train: TrainingSplit,
  config: TrainingConfig,
  dp: EffectiveDp | null,
  rng: Rng,
  noiseRng: Rng,
  onBatch: (done: number, total: number) => Promise<void>,
): Promise<FitOutput> {
  const started = performance.now();
  trainer.setWeights({ data: global, manifest: manifestFor(trainer.spec) });
  let data: Dataset = train;
  let numSynthetic = 0;
  if (config.smoteRatio > 0) {
    const out = smote(train, {
      targetRatio: config.smoteRatio,
      k: config.smoteK,
      ...(config.smoteMaxMultiplier !== undefined ? { maxMultiplier: config.smoteMaxMultiplier } : {}),
      rng,
    });
    data = out.dataset;
    numSynthetic = out.synthetic;
  }
  const result = await trainer.train(data, {
    epochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    rng,
    onBatch,
    yieldEvery: 8,
  });
  const trained = performance.now();
  const after = trainer.getWeights().data;
  let delta: Float32Array = new Float32Array(after.length);
  for (let i = 0; i < after.length; i++) delta[i] = after[i]! - global[i]!;
  let dpInfo: FitOutput['dp'];
  if (dp) {
    const p = privatizeUpdate(delta, dp, noiseRng);
    delta = p.update;
    dpInfo = { clip: dp.clip, noiseMultiplier: dp.noiseMultiplier, clipped: p.wasClipped };
  }
  return {
    delta,
    numExamples: train.numRows - feedbackRowsOf(train),
    numFeedback: feedbackRowsOf(train),
    numTrained: data.numRows,
    numSynthetic,
    loss: result.loss,
    trainMs: trained - started,
    prepareMs: performance.now() - trained,
    ...(dpInfo ? { dp: dpInfo } : {}),
  };
}

export interface EvaluateOutput {
  confusion: Confusion;
  histogram: ScoreHistogram;
  loss: number;
  numExamples: number;
  evalMs: number;
}

export function evaluate(
  trainer: MlpTrainer,
  weights: Float32Array,
  test: Dataset,
  threshold: number,
  bins: number,
): EvaluateOutput {
  const started = performance.now();
  trainer.setWeights({ data: weights, manifest: manifestFor(trainer.spec) });
  // Counts at the threshold from the probabilities (what `score` outputs), the ranking
  // histogram from the logits: probabilities saturate at exactly 1, logits do not.
  const { probabilities, logits } = trainer.predictWithLogits(test.features, test.numRows);
  return {
    confusion: confusionAt(probabilities, test.labels, threshold),
    histogram: logitHistogram(logits, test.labels, bins),
    loss: binaryCrossEntropy(probabilities, test.labels),
    numExamples: test.numRows,
    evalMs: performance.now() - started,
  };
}
