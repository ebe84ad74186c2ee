/**
 * Training settings shared by the three arms of a comparison, the centralized baseline
 * and the local-only runs. The federated arm runs in the real aggregator and bank
 * clients (simulate.ts); these two train in-process with the same MlpTrainer, the same
 * initial weights (initWeights(spec, createRng(seed)), as the aggregator does) and the
 * same evaluation (evaluate.ts).
 */
import {
  DEFAULT_MLP,
  initBackend,
  initWeights,
  manifestFor,
  MlpTrainer,
  parseBackendPreference,
  type MlpSpec,
} from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { smote } from '@finsecure/common/smote';
import type { TrainingConfig } from '@finsecure/common/protocol';
import type { TrainingSplit } from '@finsecure/common/data';
import { fit } from '@finsecure/bank-client';
import { DEFAULT_RULES, DEFAULT_TRAINING } from '@finsecure/aggregator';
import { describeExperiment, type Experiment, type ExperimentDescription } from './experiment.js';
import { evaluateTrainer, type EvalMetrics } from './evaluate.js';

/**
 * Local training defaults of the research tools (per round for the federation): the
 * aggregator's own defaults (DEFAULT_TRAINING in packages/aggregator/src/config/schema.ts),
 * so that `npm run compare` measures what `npm start`, docker compose and a deployed
 * aggregator run. They were chosen by measurement over every dataset we have (bench/RESULTS.md,
 * "Choosing the defaults"). A SMOTE cap absent from the aggregator defaults reads as none.
 */
export const RESEARCH_TRAINING = {
  epochs: DEFAULT_TRAINING.epochs,
  batchSize: DEFAULT_TRAINING.batchSize,
  learningRate: DEFAULT_TRAINING.learningRate,
  smoteRatio: DEFAULT_TRAINING.smoteRatio,
  smoteK: DEFAULT_TRAINING.smoteK,
  smoteMaxMultiplier: (DEFAULT_TRAINING.smoteMaxMultiplier ?? 'none') as number | 'none',
} as const;

export const DEFAULT_ROUNDS = 20;

/** The FedAvg options of the federated arm (the aggregator's strategy settings). */
export interface StrategySettings {
  /** Cap on any one bank's FedAvg share, in (0, 1]; 1 = none. */
  maxShare: number;
  /** Divide each delta by the bank's local step count (FedNova). */
  normalizeSteps: boolean;
  /** q: weight banks by examples × (reported training loss)^q (q-FFL); 0 = examples only. */
  lossExponent: number;
  /** Server learning rate η. */
  serverLearningRate: number;
  /** Server momentum β (FedAvgM); 0 = none. */
  serverMomentum: number;
}

/**
 * FedAvg settings of the simulation: the aggregator's default round rules (DEFAULT_RULES in
 * packages/aggregator/src/round/rules.ts), for the same reason as RESEARCH_TRAINING. Why
 * each option exists, under label skew:
 * - a bank's delta grows with its number of local steps, so its influence grows with
 *   n², not n: step normalisation (FedNova) restores influence ∝ n;
 * - local Adam makes every step about lr long, so a bank whose rows the model already
 *   fits pushes as hard per step as one whose frauds it misses: weighting banks by
 *   n × loss^q (the q-FFL objective) gives the still-misfit banks their pull back;
 * - a server learning rate below 1 damps the round-to-round swing.
 */
export const RESEARCH_STRATEGY: StrategySettings = {
  maxShare: DEFAULT_RULES.maxShare,
  normalizeSteps: DEFAULT_RULES.normalizeSteps,
  lossExponent: DEFAULT_RULES.lossExponent,
  serverLearningRate: DEFAULT_RULES.serverLearningRate,
  serverMomentum: DEFAULT_RULES.serverMomentum,
};

/** The plain-FedAvg share cap the simulation used before step normalisation (`--no-normalize-steps --max-share 0.15`). */
export const DEFAULT_MAX_SHARE = 0.15;

export type Backend = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface LocalTraining {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** SMOTE fraud/legitimate target ratio (0 = off). */
  smoteRatio: number;
  smoteK: number;
  /**
   * SMOTE cap: at most this many synthetic rows per real fraud row (the bank client's
   * `smoteMaxMultiplier`; the baseline applies the same cap to the pooled data). null: no cap.
   */
  smoteMaxMultiplier: number | null;
}

export function modelSpec(numFeatures: number): MlpSpec {
  return { ...DEFAULT_MLP, hidden: [...DEFAULT_MLP.hidden], inputSize: numFeatures };
}

export async function ensureBackend(backend: Backend = 'auto'): Promise<string> {
  return (await initBackend(parseBackendPreference(backend))).backend;
}

/** The local-training settings as recorded in a result file (every runner records them alike). */
export function localTrainingRecord(t: LocalTraining): LocalTraining {
  return {
    epochs: t.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    smoteRatio: t.smoteRatio,
    smoteK: t.smoteK,
    smoteMaxMultiplier: t.smoteMaxMultiplier,
  };
}

/** The training config a bank client would receive, for running `fit` outside a federation. */
export function trainingConfig(t: LocalTraining, seed: number): TrainingConfig {
  const { smoteMaxMultiplier, ...rest } = localTrainingRecord(t);
  return {
    ...rest,
    ...(smoteMaxMultiplier !== null ? { smoteMaxMultiplier } : {}),
    updateEncoding: 'float32',
    seed,
  };
}

// ---------------------------------------------------------------- centralized baseline

export interface BaselineOptions extends LocalTraining {
  /** Apply SMOTE (at smoteRatio) to the pooled training data once before training. */
  smote: boolean;
  backend?: Backend;
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface BaselineResult {
  kind: 'baseline';
  version: 1;
  createdAt: string;
  experiment: ExperimentDescription;
  model: MlpSpec;
  backend: string;
  training: LocalTraining & { smote: boolean };
  trainRows: number;
  syntheticRows: number;
  lossPerEpoch: number[];
  trainMs: number;
  metrics: EvalMetrics;
}

export async function runBaseline(exp: Experiment, o: BaselineOptions): Promise<BaselineResult> {
  const backend = await ensureBackend(o.backend);
  const spec = modelSpec(exp.numFeatures);
  const seed = exp.spec.seed;
  const trainer = new MlpTrainer(spec, initWeights(spec, createRng(seed)));
  const rng = createRng((seed * 1_000_003 + 0xba5e) >>> 0);
  const started = performance.now();
  let data: TrainingSplit = exp.scaledPooledTrain();
  let syntheticRows = 0;
  if (o.smote && o.smoteRatio > 0) {
    const out = smote(data, {
      targetRatio: o.smoteRatio,
      k: o.smoteK,
      ...(o.smoteMaxMultiplier !== null ? { maxMultiplier: o.smoteMaxMultiplier } : {}),
      rng,
    });
    data = out.dataset;
    syntheticRows = out.synthetic;
  }
  const lossPerEpoch: number[] = [];
  await trainer.train(data, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    rng,
    onEpoch: (e, loss) => {
      lossPerEpoch.push(loss);
      o.onEpoch?.(e, loss);
    },
    onBatch: () => new Promise<void>((r) => setImmediate(r)),
    yieldEvery: 64,
  });
  const trainMs = performance.now() - started;
  const metrics = evaluateTrainer(trainer, exp.scaledTest());
  trainer.dispose();
  return {
    kind: 'baseline',
    version: 1,
    createdAt: new Date().toISOString(),
    experiment: describeExperiment(exp),
    model: spec,
    backend,
    training: { ...localTrainingRecord(o), smote: o.smote },
    trainRows: data.numRows,
    syntheticRows,
    lossPerEpoch,
    trainMs,
    metrics,
  };
}

// ---------------------------------------------------------------- local-only

export interface LocalOnlyOptions extends LocalTraining {
  rounds: number;
  backend?: Backend;
  /** Called after each bank's round of local training. */
  onProgress?: (bank: number, round: number) => void;
}

export interface LocalBankResult {
  bank: number;
  rows: number;
  frauds: number;
  trainMs: number;
  metrics: EvalMetrics;
}

export interface LocalOnlyResult {
  kind: 'local-only';
  version: 1;
  createdAt: string;
  experiment: ExperimentDescription;
  model: MlpSpec;
  backend: string;
  training: LocalTraining & { rounds: number };
  banks: LocalBankResult[];
  summary: {
    meanAuprc: number;
    worstAuprc: number;
    bestAuprc: number;
    meanF1: number;
    worstF1: number;
    meanBestF1: number;
    meanRocAuc: number;
    meanRecallAt1PctFpr: number;
    worstBank: number;
  };
}

/** Summary statistics over the banks' local-only results. */
export function summarizeLocal(banks: LocalBankResult[]): LocalOnlyResult['summary'] {
  const mean = (f: (b: LocalBankResult) => number) => banks.reduce((s, b) => s + f(b), 0) / banks.length;
  let worst = banks[0]!;
  for (const b of banks) if (b.metrics.auprc < worst.metrics.auprc) worst = b;
  return {
    meanAuprc: mean((b) => b.metrics.auprc),
    worstAuprc: worst.metrics.auprc,
    bestAuprc: Math.max(...banks.map((b) => b.metrics.auprc)),
    meanF1: mean((b) => b.metrics.f1),
    worstF1: Math.min(...banks.map((b) => b.metrics.f1)),
    meanBestF1: mean((b) => b.metrics.bestF1.f1),
    meanRocAuc: mean((b) => b.metrics.rocAuc),
    meanRecallAt1PctFpr: mean((b) => b.metrics.recallAt1PctFpr),
    worstBank: worst.bank,
  };
}

/**
 * Each bank trains alone for the federation's budget: `rounds` calls of the bank
 * client's own `fit` (SMOTE on its shard, `epochs` local epochs, Adam reset per round),
 * each starting from the previous result, i.e. a federation of one. Same initial
 * weights, seeds and scaler as in the simulation; evaluated on the shared test set.
 */
export async function runLocalOnly(exp: Experiment, o: LocalOnlyOptions): Promise<LocalOnlyResult> {
  const backend = await ensureBackend(o.backend);
  const spec = modelSpec(exp.numFeatures);
  const seed = exp.spec.seed;
  const initial = initWeights(spec, createRng(seed));
  const test = exp.scaledTest();
  const config = trainingConfig(o, seed);
  const noiseRng = createRng(0); // unused: no DP when nothing leaves the bank
  const banks: LocalBankResult[] = [];
  for (let b = 0; b < exp.shards.length; b++) {
    const train = exp.scaledShard(b);
    const trainer = new MlpTrainer(spec, initial);
    // The bank client's seed and per-round training RNG (see simulate.ts and client.ts).
    const bankSeed = bankClientSeed(seed, b);
    let global = initial.data;
    const started = performance.now();
    for (let r = 1; r <= o.rounds; r++) {
      const rng = createRng((bankSeed * 1_000_003 + r * 7919 + seed) >>> 0);
      await fit(
        trainer,
        global,
        train,
        config,
        null,
        rng,
        noiseRng,
        () => new Promise<void>((res) => setImmediate(res)),
      );
      global = trainer.getWeights().data;
      o.onProgress?.(b + 1, r);
    }
    const trainMs = performance.now() - started;
    trainer.setWeights({ data: global, manifest: manifestFor(spec) });
    const metrics = evaluateTrainer(trainer, test);
    trainer.dispose();
    const s = exp.summary.shards[b]!;
    banks.push({ bank: b + 1, rows: s.rows, frauds: s.frauds, trainMs, metrics });
  }
  return {
    kind: 'local-only',
    version: 1,
    createdAt: new Date().toISOString(),
    experiment: describeExperiment(exp),
    model: spec,
    backend,
    training: { rounds: o.rounds, ...localTrainingRecord(o) },
    banks,
    summary: summarizeLocal(banks),
  };
}

/** The `--seed` each simulated bank client gets (bank index from 0). */
export function bankClientSeed(seed: number, bankIndex: number): number {
  return (seed * 131 + bankIndex + 1) % 2_147_483_647;
}
