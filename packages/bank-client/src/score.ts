/**
 * `finsecure-bank score`: the bank's direct value from the federation. Applies the
 * latest global model (with the scaler stored beside it) to a CSV of transactions and
 * writes one fraud probability per input row, in input order.
 *
 * It never writes a NaN: every value is checked when the CSV is read (finite in float32,
 * else a DataError naming file, line and column), again after scaling, and every
 * probability before the output file is opened; a bad row fails the whole run (the CLI
 * exits non-zero) and no partial output is written.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { DataError, loadCsv, type ColumnMapping } from '@finsecure/common/data';
import { initBackend, MlpTrainer, parseBackendPreference } from '@finsecure/common/model';
import { loadStateModel, PLAINTEXT_STATE, type StateCipher } from './state-crypto/index.js';

/** Bad input that is not in the data file: no model in --model, a model of another width. */
export class ScoreInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScoreInputError';
  }
}

export interface ScoreResult {
  rows: number;
  modelVersion: number;
  out: string;
}

/**
 * Scores `data` with the model in `model` and writes `row,fraud_probability` to `out`.
 * Rejects with a DataError for bad input (missing file, no data rows, a value that is not
 * a finite float32, a row that scales or scores to a non-finite value), with an Error for
 * a missing or broken model.
 */
export async function scoreFile(opts: {
  model: string;
  data: string;
  out: string;
  layout?: 'auto' | 'kaggle' | 'handbook';
  mapping?: ColumnMapping;
  backend?: string;
  onNotice?: (message: string) => void;
  /** Opens a model saved encrypted (--state-key-file); default: plaintext models only. */
  cipher?: StateCipher;
}): Promise<ScoreResult> {
  let model;
  try {
    model = await loadStateModel(opts.cipher ?? PLAINTEXT_STATE, opts.model, { allowPlaintext: true });
  } catch (err) {
    if (/no model there/.test((err as Error).message)) throw new ScoreInputError((err as Error).message);
    throw err;
  }
  const { weights, metadata } = model;
  // The data before the backend: a bad file is reported without waiting for TF.js.
  const loaded = await loadCsv(opts.data, {
    layout: opts.mapping ?? opts.layout ?? 'auto',
    requireLabel: false,
    keepLineNumbers: true,
    ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
  });
  const ds = loaded.dataset;
  const lineOf = (row: number) => loaded.lineNumbers?.[row] ?? row + 2;
  if (ds.numFeatures !== metadata.spec.inputSize) {
    throw new ScoreInputError(
      `${opts.data} has ${ds.numFeatures} features, the model expects ${metadata.spec.inputSize}`,
    );
  }
  const features = ds.features.slice();
  const d = ds.numFeatures;
  if (metadata.scaler) {
    const { mean, std } = metadata.scaler;
    for (let i = 0; i < features.length; i++) {
      const x = (features[i]! - mean[i % d]!) / std[i % d]!;
      features[i] = x;
      // A finite input can still overflow float32 once scaled (a huge value, a tiny std).
      if (!Number.isFinite(features[i]!)) {
        const row = Math.floor(i / d);
        throw DataError.at(
          opts.data,
          lineOf(row),
          ds.featureNames[i % d],
          `value ${ds.features[i]} is out of range once scaled with the model's scaler (mean ${mean[i % d]}, std ${std[i % d]})`,
        );
      }
    }
  }
  await initBackend(parseBackendPreference(opts.backend ?? process.env.FINSECURE_BACKEND));
  const trainer = new MlpTrainer(metadata.spec, weights);
  let probs: Float32Array;
  try {
    probs = trainer.predict(features, ds.numRows);
  } finally {
    trainer.dispose();
  }
  for (let i = 0; i < probs.length; i++) {
    if (!Number.isFinite(probs[i]!)) {
      throw DataError.at(opts.data, lineOf(i), undefined, `the model gives no finite score for this row (${probs[i]})`);
    }
  }
  const out = createWriteStream(opts.out);
  out.write('row,fraud_probability\n');
  for (let i = 0; i < probs.length; i++) {
    if (!out.write(`${i + 1},${probs[i]!.toPrecision(6)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { rows: ds.numRows, modelVersion: metadata.modelVersion, out: opts.out };
}
