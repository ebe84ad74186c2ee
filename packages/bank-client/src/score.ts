/**
 * `finsecure-bank score`: the bank's direct value from the federation. Applies the
 * latest global model (with the scaler stored beside it) to a CSV of transactions and
 * writes one fraud probability per input row, in input order.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadCsv } from '@finsecure/common/data';
import { initBackend, loadModelDir, MlpTrainer, parseBackendPreference } from '@finsecure/common/model';

export interface ScoreResult {
  rows: number;
  modelVersion: number;
  out: string;
}

export async function scoreFile(opts: {
  model: string;
  data: string;
  out: string;
  layout?: 'auto' | 'kaggle' | 'handbook';
  backend?: string;
}): Promise<ScoreResult> {
  await initBackend(parseBackendPreference(opts.backend ?? process.env.FINSECURE_BACKEND));
  const { weights, metadata } = await loadModelDir(opts.model);
  const ds = (await loadCsv(opts.data, { layout: opts.layout ?? 'auto', requireLabel: false })).dataset;
  if (ds.numFeatures !== metadata.spec.inputSize) {
    throw new Error(`${opts.data} has ${ds.numFeatures} features, the model expects ${metadata.spec.inputSize}`);
  }
  const features = ds.features.slice();
  if (metadata.scaler) {
    const { mean, std } = metadata.scaler;
    const d = ds.numFeatures;
    for (let i = 0; i < features.length; i++) features[i] = (features[i]! - mean[i % d]!) / std[i % d]!;
  }
  const trainer = new MlpTrainer(metadata.spec, weights);
  const probs = trainer.predict(features, ds.numRows);
  trainer.dispose();
  const out = createWriteStream(opts.out);
  out.write('row,fraud_probability\n');
  for (let i = 0; i < probs.length; i++) {
    if (!out.write(`${i + 1},${probs[i]!.toPrecision(6)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { rows: ds.numRows, modelVersion: metadata.modelVersion, out: opts.out };
}
