/**
 * What the daemon does with the bank's own data and model, whatever protocol the round runs
 * (plaintext FedAvg or secure aggregation): the trainer for the federation's model spec, one
 * round's local training and its evaluation on the test split (round-work.ts), the DP a round
 * uses, and the global models kept in the state directory. The socket stays in client.ts; the
 * only IO here is the state directory.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { manifestFor, MlpTrainer, type MlpSpec } from '@finsecure/common/model';
import type { DpParams, RoundCommitted, Scaler, TrainingConfig } from '@finsecure/common/protocol';
import { createRng, type Rng } from '@finsecure/common/rng';
import type { BankConfig } from './config/index.js';
import type { FeedbackHistoryFile } from './feedback.js';
import type { LocalData, ScaledData } from './local-data.js';
import { evaluate, fit, type EffectiveDp, type EvaluateOutput, type FitOutput } from './round-work.js';
import { cipherFor, saveStateModel } from './state-crypto/index.js';

/** The DP of a round: the noise, the clip it is scaled to, δ and the budget to stay within. */
export type RoundDp = EffectiveDp & { delta: number; epsilonBudget?: number };

export interface LocalModelOptions {
  config: BankConfig;
  data: LocalData;
  scaled: ScaledData;
  feedbackHistory: FeedbackHistoryFile;
  /** DP noise (a CSPRNG unless --insecure-dp-seed). */
  noiseRng: Rng;
  logger: Logger;
  /** Every few batches of local training: batches done of all epochs. */
  onProgress: (roundId: number, done: number, total: number) => void;
}

export class LocalModel {
  private trainer: MlpTrainer | null = null;
  private spec: MlpSpec | null = null;

  constructor(private readonly o: LocalModelOptions) {}

  /**
   * Makes the trainer for the federation's model (at each welcome; kept while the spec is the
   * same). Throws when the model's input does not match this bank's feature count.
   */
  ensure(spec: MlpSpec): void {
    const features = this.o.data.train.numFeatures;
    if (spec.inputSize !== features) {
      throw new Error(`the federation's model expects ${spec.inputSize} features, this bank's data has ${features}`);
    }
    if (this.trainer && JSON.stringify(this.spec) === JSON.stringify(spec)) return;
    this.trainer?.dispose();
    const manifest = manifestFor(spec);
    const zero = {
      data: new Float32Array(manifest.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0)),
      manifest,
    };
    this.trainer = new MlpTrainer(spec, zero, { workers: this.o.config.trainingThreads });
    this.spec = spec;
  }

  private live(): { trainer: MlpTrainer; spec: MlpSpec } {
    if (!this.trainer || !this.spec) throw new Error('no model yet: the aggregator has not welcomed this bank');
    return { trainer: this.trainer, spec: this.spec };
  }

  /** The bank's own DP settings (--dp-clip, --dp-noise-multiplier, …), or null. */
  localDp(): DpParams | null {
    const c = this.o.config;
    if (c.dpClip === undefined || c.dpNoiseMultiplier === undefined) return null;
    return {
      clip: c.dpClip,
      noiseMultiplier: c.dpNoiseMultiplier,
      delta: c.dpDelta,
      ...(c.dpEpsilonBudget !== undefined ? { epsilonBudget: c.dpEpsilonBudget } : {}),
    };
  }

  /**
   * The DP a round uses: the stricter of the bank's own settings and the server's request (more
   * noise, the smaller budget and δ). The bank's clip bound is kept when it has one: the noise is
   * scaled to it, so privacy depends on the noise multiplier only.
   */
  effectiveDp(requested: DpParams | undefined): RoundDp | null {
    const local = this.localDp();
    if (!local && !requested) return null;
    const all = [local, requested].filter((d): d is DpParams => !!d);
    const budgets = all.map((d) => d.epsilonBudget).filter((b): b is number => b !== undefined);
    return {
      clip: (local ?? requested)!.clip,
      noiseMultiplier: Math.max(...all.map((d) => d.noiseMultiplier)),
      delta: Math.min(...all.map((d) => d.delta)),
      ...(budgets.length ? { epsilonBudget: Math.min(...budgets) } : {}),
    };
  }

  /**
   * One round's local training from `global` (round-work.ts fit); yields to the event loop every
   * few batches. Batch order and SMOTE are seeded by trainingSeed.
   */
  fit(
    roundId: number,
    global: Float32Array,
    config: TrainingConfig,
    scaler: Scaler,
    dp: EffectiveDp | null,
  ): Promise<FitOutput> {
    const { train } = this.o.scaled.get(scaler);
    const rng = createRng(this.trainingSeed(roundId, config));
    return fit(this.live().trainer, global, train, config, dp, rng, this.o.noiseRng, (done, total) => {
      this.o.onProgress(roundId, done, total);
      return new Promise((r) => setImmediate(r));
    });
  }

  /**
   * The seed of one training run. With a seed the operator gave (`seedPinned`, for research): the
   * bank's seed, the round and the round's seed, so a run can be repeated bit for bit. Otherwise
   * fresh randomness from node:crypto, drawn per run. The round and the round's seed come from the
   * aggregator: were they the only inputs besides a fixed bank seed, the aggregator could replay a
   * secure round (same round, new session; or another round with a compensating round seed), have
   * every bank send the same update again, and subtract two secure sums whose survivors differ by
   * one bank to obtain that bank's update. A fresh seed per run makes each attempt's update differ
   * (which bounds nothing formally: cross-round differencing is bounded only by DP).
   */
  private trainingSeed(roundId: number, config: TrainingConfig): number {
    if (this.o.config.seedPinned) return (this.o.config.seed * 1_000_003 + roundId * 7919 + (config.seed ?? 0)) >>> 0;
    return randomBytes(4).readUInt32LE(0);
  }

  /**
   * Scores `global` on the test split (round-work.ts evaluate) and keeps the bank's own metrics
   * for the console; null when the bank has no test rows.
   */
  evaluate(
    roundId: number,
    modelVersion: number,
    global: Float32Array,
    threshold: number,
    bins: number,
    scaler: Scaler,
  ): EvaluateOutput | null {
    const test = this.o.scaled.getTest(scaler);
    if (test.numRows === 0) return null;
    const out = evaluate(this.live().trainer, global, test, threshold, bins);
    this.keepHistory(() => this.o.feedbackHistory.recordEvaluation({ roundId, modelVersion, ...out }));
    return out;
  }

  /** The feedback history is for display: a failure to write it never stops a round. */
  keepHistory(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not keep the feedback history');
    }
  }

  /**
   * Keeps a committed global model: every version (`models/v<N>`, about 16 KB each for the default
   * MLP, so `score --model <state-dir>/models/v12` can use a chosen one) and `model/` as the latest,
   * sealed when the bank state is encrypted at rest (state-crypto). A failure is logged, not thrown.
   */
  async save(msg: RoundCommitted, weights: Float32Array): Promise<void> {
    const { stateDir } = this.o.config;
    const dir = path.join(stateDir, 'model');
    try {
      const { spec } = this.live();
      const flat = { data: weights, manifest: manifestFor(spec) };
      const cipher = cipherFor(stateDir);
      await saveStateModel(
        cipher,
        path.join(stateDir, 'models', `v${msg.modelVersion}`),
        spec,
        flat,
        msg.modelVersion,
        msg.scaler,
      );
      await saveStateModel(cipher, dir, spec, flat, msg.modelVersion, msg.scaler);
      this.o.logger.info(
        { roundId: msg.roundId, modelVersion: msg.modelVersion, dir, metrics: msg.metrics },
        'global model saved',
      );
    } catch (err) {
      this.o.logger.error({ err: (err as Error).message, dir }, 'could not save the global model');
    }
  }
}
