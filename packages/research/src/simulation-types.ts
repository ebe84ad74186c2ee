/**
 * What a federated simulation takes (SimulationOptions, its banks' files, DP settings) and what
 * it returns (SimulationResult: per round, what the federation reported and the exact metrics of
 * the committed model). simulate.ts runs it.
 */
import type { Scaler } from '@finsecure/common/data';
import type { DEFAULT_RULES } from '@finsecure/aggregator';
import type { MlpSpec } from '@finsecure/common/model';
import type { ExperimentDescription } from './experiment.js';
import type { EvalMetrics } from './evaluate.js';
import type { Backend, LocalTraining, StrategySettings } from './training.js';

export interface DpSettings {
  clip: number;
  noiseMultiplier: number;
  delta: number;
}

export interface SimulationOptions extends LocalTraining {
  rounds: number;
  /** Updates needed to aggregate (k of n). Default: all banks. */
  quorum?: number;
  /** After the quorum is reached, how long to wait for the other banks (ms). Default 0 with a quorum below N. */
  graceMs?: number;
  /** Deadline of each fit and evaluation stage (ms). Default 30 min. */
  roundTimeoutMs?: number;
  dp?: DpSettings;
  /** FedAvg options (share cap, step normalisation, server learning rate and momentum). Default RESEARCH_STRATEGY. */
  strategy?: Partial<StrategySettings>;
  /**
   * Run the aggregator's secure-aggregation workflow (SecAgg+: masked updates, the aggregator
   * only unmasks their sum; the aggregator rule `secureAggregation`). Default false.
   */
  secureAggregation?: boolean;
  updateEncoding?: 'float32' | 'float16' | 'int8';
  backend?: Backend;
  /** Log level of the aggregator and bank loggers (default silent). */
  logLevel?: string;
  /** Working directory for shards, SQLite and bank state (default: a temp dir, removed afterwards). */
  workDir?: string;
  onStage?: (message: string) => void;
  onRound?: (round: RoundResult, committed: number) => void;
  /**
   * Whole-run safety limit (ms), against a federation that stops answering. Default: what the rounds
   * may take by their own timeouts, (rounds + max(5, rounds) + 1) × 2 × roundTimeoutMs, plus 10 minutes.
   */
  timeoutMs?: number;
  /**
   * Round rules laid over the simulation's own (another strategy and its options,
   * maxUpdateNorm, ...): the attack lab (attack/) runs the robust strategies with it.
   */
  rules?: Partial<typeof DEFAULT_RULES>;
  /**
   * Called before each bank starts, with its data file and the aggregator's bank URL; returns
   * the ones it should use instead (the attack lab's hostile banks: poisoned data, a relay).
   */
  prepareBank?: (bank: BankFiles) => Promise<Pick<BankFiles, 'data' | 'server'>>;
  /**
   * More metrics of each committed model from its weights (e.g. backdoor success rate), in
   * RoundResult.extra; `scaler` is the federation's (what the model was trained on), to scale any
   * yardstick with.
   */
  extraMetrics?: (weights: Float32Array, scaler: Scaler) => Record<string, number>;
}

export interface BankFiles {
  /** 0-based. */
  index: number;
  bankId: string;
  data: string;
  server: string;
}

export interface ReportedMetrics {
  precision?: number;
  recall?: number;
  f1?: number;
  auprc?: number;
  rocAuc?: number;
  loss?: number;
  trainLoss?: number;
}

export interface RoundResult {
  round: number;
  status: string;
  failureReason: string | null;
  modelVersion: number | null;
  selected: number;
  participants: number;
  /** Exact metrics of this round's committed model on the shared test set. */
  metrics: EvalMetrics | null;
  /** What the federation itself reported (summed 1000-bin histograms and confusions). */
  reported: ReportedMetrics | null;
  bytesUp: number;
  bytesDown: number;
  bytes: number;
  durations: { totalMs?: number; trainingMs?: number; aggregationMs?: number; evaluationMs?: number };
  /** Longest local training among the participants (wall time in this process). */
  maxBankTrainMs: number | null;
  /** Largest ε spent by any bank up to this round (DP only). */
  epsilon: number | null;
  /** SimulationOptions.extraMetrics of this round's committed model. */
  extra?: Record<string, number>;
  /** Per bank: its weight in the aggregate and why the strategy left it out, if it did (RoundRecord.banks). */
  banks?: Record<string, { weight: number | null; excluded: string | null }>;
  /** The round's stages as the aggregator stored them: name, time (ms), banks asked, answered and dropped. */
  stages?: { name: string; ms: number; asked: number; answered: number; dropped: number }[];
}

export interface SimulationResult {
  kind: 'simulation';
  version: 1;
  createdAt: string;
  experiment: ExperimentDescription;
  model: MlpSpec;
  backend: string;
  training: LocalTraining & {
    rounds: number;
    quorum: number;
    graceMs: number;
    /** Absent in results written before it was recorded (such a result is not reused by compare --reuse). */
    roundTimeoutMs?: number;
    maxShare: number;
    /** Absent in results written before these options existed: false, 0, 1 and 0. */
    normalizeSteps: boolean;
    lossExponent: number;
    serverLearningRate: number;
    serverMomentum: number;
    updateEncoding: string;
    dp: DpSettings | null;
    /** Masked updates (SecAgg+). Absent in results written before the option existed: false. */
    secureAggregation?: boolean;
  };
  /** Max |federation scaler − prepareExperiment scaler| over means and stds (0 = identical). */
  scalerCheck: { maxAbsDiff: number; identical: boolean };
  rounds: RoundResult[];
  final: EvalMetrics | null;
  totals: { wallMs: number; setupMs: number; trainingWallMs: number; bytes: number; committed: number; failed: number };
  privacy: { delta: number; epsilon: Record<string, number> } | null;
}
