/**
 * Shapes of what the aggregator's REST API and live event stream (/ws/events) return.
 * Type-only, so the dashboard can `import type` them without pulling TF.js or zod into
 * the browser bundle. The aggregator's Store records are these same types.
 */

/**
 * A privacy loss ε as the API writes it: a finite number, or the string "Infinity" when a
 * bank clipped but added no noise (`--dp-noise-multiplier 0`: no guarantee at all). JSON has
 * no ∞ and would write null, which the API uses for "no differential privacy"; the two must
 * not look alike. `Number(value)` turns either form into a JS number.
 */
export type EpsilonValue = number | 'Infinity';

/** GET /api/privacy: ε spent per bank (only banks that trained with DP appear). */
export interface PrivacyView {
  delta: number;
  /** The federation's ε budget; null when none is set. */
  budget: number | null;
  epsilon: Record<string, EpsilonValue>;
}

export type RoundStatus = 'selecting' | 'training' | 'aggregating' | 'evaluating' | 'committed' | 'failed';

export interface BankRoundStats {
  bytesUp: number;
  bytesDown: number;
  /** Effective normalised FedAvg weight (0 or absent for banks that did not contribute). */
  weight?: number;
  numExamples?: number;
  loss?: number;
  trainMs?: number;
  /** Size of the accepted update frame (compare with parameters × 4 for the compression ratio). */
  updateBytes?: number;
  /** Why this bank's update was rejected or missing, if it was. */
  rejected?: string;
  /** Per-bank evaluation metrics of the new global model. */
  metrics?: Record<string, number>;
  /**
   * This bank's share of the pooled evaluation behind the round's global metrics, after the cap
   * (rules.evaluationMaxShare), and before it when the cap lowered it: one bank never defines
   * the consortium's figure unseen.
   */
  evaluationShare?: { share: number; cappedShare: number };
  /** Privacy spent by this bank up to and including this round (ε), if it used DP ("Infinity": no noise). */
  epsilon?: EpsilonValue;
  /** How its update compared with the round's aggregate (plaintext rounds only; see BankReputation). */
  reputation?: BankReputation;
}

/**
 * One bank's update in one round, against the round's aggregate (the step the global model
 * moved by), as the aggregator stored it with the round (aggregator/src/reputation).
 * Absent numbers: the strategy could not compute them (e.g. under secure aggregation).
 */
export interface BankReputation {
  /** L2 norm of the update (before any clipping by the aggregator). */
  norm?: number;
  /** L2 distance of the update to the aggregate step. */
  distance?: number;
  /** Cosine similarity of the update to the aggregate step, in [−1, 1]. */
  cosine?: number;
  /** The strategy's robustness score (Krum and Bulyan: sum of squared distances to the nearest others; lower is more central). */
  score?: number;
  /** Why the strategy left the update out (its weight is 0). */
  excluded?: string;
  /** Factor in (0, 1) the update was scaled down by (norm bound or centered clipping), and why. */
  clipScale?: number;
  clipped?: string;
  /** Why this update stands out among the round's (excluded, clipped, norm or direction far from the others'). */
  outlier?: string;
}

/** One round of a bank's history, as GET /api/banks/:id returns it (newest first). */
export interface BankRoundHistory {
  roundId: number;
  startedAt: number;
  status: RoundStatus;
  /** Its effective weight in the aggregate (0: left out). */
  weight: number | null;
  rejected: string | null;
  reputation: BankReputation | null;
}

/** GET /api/banks/:id: the bank's view, its quarantine state and its round history. */
export interface BankDetailView extends BankView {
  quarantine: QuarantineView;
  history: BankRoundHistory[];
}

export interface QuarantineView {
  /** The rule in force: consecutive excluded rounds that quarantine a bank; null = off. */
  afterExclusions: number | null;
  quarantined: boolean;
  /** Its excluded rounds in a row counted so far (since the last lift). */
  streak: number;
  /** The round that completed the streak, when quarantined. */
  sinceRound: number | null;
  /** The last lift by an admin, if any. */
  lifted: { at: number; by: string; afterRound: number } | null;
}

/** One stage of a stored round (see RoundRecord.stages). */
export interface StageSummary {
  name: string;
  asked: number;
  answered: number;
  /** Banks that dropped out of this stage, with the reason. */
  dropped: Record<string, string>;
  ms: number;
  /** Set on the last evaluation stage when the round committed without federated metrics: why. */
  note?: string;
}

export interface RoundRecord {
  id: number;
  status: RoundStatus;
  startedAt: number;
  endedAt: number | null;
  /**
   * Snapshot of what was in force for this round: `training`, `rules`, `strategy`, and
   * `parameters` (model size; the raw update is parameters × 4 bytes).
   */
  config: Record<string, unknown>;
  selected: string[];
  participants: string[];
  banks: Record<string, BankRoundStats>;
  /** Milliseconds per phase: training (waiting for updates), aggregation, evaluation. */
  durations: { trainingMs?: number; aggregationMs?: number; evaluationMs?: number; totalMs?: number };
  /**
   * The round's stages in order (its workflow's training stages, then evaluate): how many banks
   * each asked and heard, who dropped out of it, and how long it took (ms).
   */
  stages?: StageSummary[];
  /** Model version this round started from, and the one it produced (if committed). */
  baseModelVersion: number;
  modelVersion: number | null;
  /** Global metrics from summed counts: precision, recall, f1, auprc, rocAuc, loss, trainLoss, ... */
  metrics: Record<string, number> | null;
  failureReason: string | null;
}

export type TrainingState = 'idle' | 'running' | 'paused' | 'stopped' | 'finished';

export interface BankView {
  id: string;
  name: string;
  createdAt: number;
  lastSeenAt: number | null;
  revoked: boolean;
  connected: boolean;
  numExamples: number | null;
  numTestExamples: number | null;
  backend: string | null;
  roundsParticipated: number;
  lastUpdateBytes: number | null;
  /** Privacy spent (ε); null: this bank never trained with DP; "Infinity": it did, with noise multiplier 0. */
  epsilon: EpsilonValue | null;
  /** The ε budget in force for this bank: its own (from its hello) or the federation's. */
  epsilonBudget: number | null;
  rejections: { roundId: number; reason: string; at: number }[];
  /**
   * Whether this bank's data looks like the consortium's (feature statistics against the global
   * scaler, training loss against the other banks'); null before anything could be compared.
   */
  health: BankHealthView | null;
  /** The last time the aggregator refused this bank's connection, and why (schema, protocol, revoked). */
  lastRefusal: { at: number; reason: string; kind: string } | null;
}

export interface BankHealthView {
  status: 'ok' | 'warning';
  reasons: string[];
  shiftedFeatureShare: number | null;
  lossRatio: number | null;
}

/** One global model version, as GET /api/models lists it. */
export interface ModelVersionView {
  version: number;
  /** The round that produced it; null for the initial model and for rollbacks. */
  roundId: number | null;
  origin: 'initial' | 'round' | 'rollback';
  committedAt: number | null;
  auprc: number | null;
  f1: number | null;
  /** The version with the highest federated AUPRC. */
  best: boolean;
  /** The global model in force. */
  current: boolean;
}

/** Progress of the stage in flight: who was asked, who has answered, who dropped out. */
export interface StageProgress {
  /** Banks asked in this stage (selected for fit, chosen evaluators for evaluation). */
  asked: number;
  /** Banks whose answer was accepted so far. */
  reported: number;
  /** Banks that dropped out of the stage (declined, rejected, disconnected). */
  dropped: number;
  /** Ids of the banks that have reported (at most 50, for the terminal and the dashboard). */
  reportedBanks: string[];
  /** Milliseconds until the stage closes at the latest (deadline on the aggregator's clock). */
  closesInMs: number | null;
}

export interface StatusView {
  state: TrainingState;
  currentRound: { id: number; phase: RoundStatus; progress?: StageProgress } | null;
  modelVersion: number;
  connectedBanks: number;
  roundsCompleted: number;
  roundsFailed: number;
  /** Rounds the settings ask for (0 = unlimited): training finishes when roundsCompleted reaches it. */
  roundsConfigured: number;
}

export interface AuditEntryView {
  seq: number;
  at: number;
  type: string;
  actor: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type LiveEvent =
  | { type: 'status'; status: StatusView }
  | { type: 'round'; round: RoundRecord }
  | { type: 'bank'; bank: BankView }
  | { type: 'audit'; entry: AuditEntryView }
  /** The federation's settings changed (PUT /api/config, a start that adds rounds): re-read them. */
  | { type: 'settings'; changedAt: number }
  /**
   * To one stream only: its caller's role or permissions changed while it was open (found when the
   * stream looked the caller up again). The page re-reads who it is and what it may see.
   */
  | { type: 'role'; role: string };
