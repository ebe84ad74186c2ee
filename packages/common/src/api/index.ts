/**
 * Shapes of what the aggregator's REST API and live event stream (/ws/events) return.
 * Type-only, so the dashboard can `import type` them without pulling TF.js or zod into
 * the browser bundle. The aggregator's Store records are these same types.
 */

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
  /** Privacy spent by this bank up to and including this round (ε), if it used DP. */
  epsilon?: number;
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
  epsilon: number | null;
  /** The ε budget in force for this bank: its own (from its hello) or the federation's. */
  epsilonBudget: number | null;
  rejections: { roundId: number; reason: string; at: number }[];
}

export interface StatusView {
  state: TrainingState;
  currentRound: { id: number; phase: RoundStatus } | null;
  modelVersion: number;
  connectedBanks: number;
  roundsCompleted: number;
  roundsFailed: number;
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
  | { type: 'audit'; entry: AuditEntryView };
