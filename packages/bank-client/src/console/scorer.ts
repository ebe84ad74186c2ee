/**
 * Scores transactions with the latest global model the daemon saved in the state
 * directory (`<state-dir>/model`) and the scaler stored beside it. The model is reloaded
 * when its model.json changes (the daemon rewrites it atomically after every round), so
 * a running console always scores with the newest version.
 *
 * Scores are reported as the output logit z (float32, from the MLP's last layer) and the
 * probability σ(z) computed in float64 from it: float32 probabilities saturate at exactly
 * 0 and 1 for |z| ≳ 17, the logit keeps the ranking there, and the alert queue sorts by it.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FlatWeights } from '@finsecure/common';
import { initBackend, MlpTrainer, parseBackendPreference, type MlpSpec } from '@finsecure/common/model';
import { cipherFor, loadStateModel } from '../state-crypto/index.js';

export interface LoadedModel {
  version: number;
  spec: MlpSpec;
  scaler: { mean: number[]; std: number[] } | null;
  trainer: MlpTrainer;
  /** The stored float32 weights (the explainer builds its float64 copy from them). */
  weights: FlatWeights;
  /** model.json's mtime when loaded, to notice a newer model. */
  stamp: number;
}

export interface Scores {
  /** n logits (float32 values widened to float64). */
  logits: Float64Array;
  /** n probabilities σ(z), float64. */
  probabilities: Float64Array;
}

/** Thrown when there is no model to score with yet. */
export class NoModelError extends Error {
  override name = 'NoModelError';
}

/** σ(z) in float64, stable for large |z|. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export class Scorer {
  private model: LoadedModel | null = null;
  private loading: Promise<LoadedModel> | null = null;
  private backendReady: Promise<unknown> | null = null;
  private checkedAt = 0;

  /**
   * @param modelDir directory with model.json + weights.bin (normally `<state-dir>/model`)
   * @param backend TF.js backend preference (auto, tensorflow, wasm, cpu)
   * @param recheckMs how often (at most) model.json is stat'ed for a newer version
   */
  constructor(
    readonly modelDir: string,
    private readonly backend?: string,
    private readonly recheckMs = 1000,
  ) {}

  /** The current model, reloaded if the file changed. Rejects with NoModelError before the first round. */
  async current(): Promise<LoadedModel> {
    const now = Date.now();
    if (this.model && now - this.checkedAt < this.recheckMs) return this.model;
    this.checkedAt = now;
    let stamp: number;
    try {
      stamp = (await stat(path.join(this.modelDir, 'model.json'))).mtimeMs;
    } catch {
      throw new NoModelError(
        `no global model yet in ${this.modelDir}: the bank daemon (finsecure-bank start) saves one after its first federated round`,
      );
    }
    if (this.model && this.model.stamp === stamp) return this.model;
    this.loading ??= this.load(stamp).finally(() => (this.loading = null));
    return this.loading;
  }

  private async load(stamp: number): Promise<LoadedModel> {
    // Sealed when the bank state is encrypted at rest; the model dir is <state-dir>/model.
    const { weights, metadata } = await loadStateModel(cipherFor(path.dirname(this.modelDir)), this.modelDir);
    this.backendReady ??= initBackend(parseBackendPreference(this.backend ?? process.env.FINSECURE_BACKEND));
    await this.backendReady;
    const trainer = new MlpTrainer(metadata.spec, weights);
    this.model?.trainer.dispose();
    this.model = {
      version: metadata.modelVersion,
      spec: metadata.spec,
      scaler: metadata.scaler ?? null,
      trainer,
      weights,
      stamp,
    };
    return this.model;
  }

  /**
   * Scales raw features in place with the model's scaler (float32, as at training).
   * Returns the index of the first value that is not finite once scaled, or -1.
   */
  static scale(model: LoadedModel, features: Float32Array): number {
    if (!model.scaler) return -1;
    const d = model.spec.inputSize;
    const { mean, std } = model.scaler;
    for (let i = 0; i < features.length; i++) {
      const j = i % d;
      features[i] = (features[i]! - mean[j]!) / std[j]!;
      if (!Number.isFinite(features[i]!)) return i;
    }
    return -1;
  }

  /** Scores n rows of already scaled features. */
  static score(model: LoadedModel, scaled: Float32Array, n: number): Scores {
    const { logits } = model.trainer.predictWithLogits(scaled, n);
    const z = Float64Array.from(logits);
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = sigmoid(z[i]!);
    return { logits: z, probabilities: p };
  }

  dispose(): void {
    this.model?.trainer.dispose();
    this.model = null;
  }
}
