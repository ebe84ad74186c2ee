/**
 * API shapes. The aggregator's own view types are imported type-only from the common
 * package source, so nothing but types reaches the browser bundle.
 */
export type {
  AuditEntryView,
  BankDetailView,
  BankReputation,
  BankRoundHistory,
  BankRoundStats,
  BankView,
  EpsilonValue,
  LiveEvent,
  ModelVersionView,
  PrivacyView,
  QuarantineView,
  RoundRecord,
  RoundStatus,
  StatusView,
  TrainingState,
} from '../../../common/src/api/index';

export type Role = 'admin' | 'viewer';

export interface HealthView {
  status: string;
  version: string;
  store: string;
  backend: string;
  backendNotes?: string[];
  uptimeMs?: number;
  modelVersion: number;
  connectedBanks: number;
  tls?: boolean;
}

/** GET /api/config: the training config and round rules in force. */
export interface SettingsView {
  training: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    smoteRatio: number;
    smoteK?: number;
    updateEncoding?: 'float32' | 'float16' | 'int8';
    dp?: { clip?: number; noiseMultiplier?: number; delta?: number; epsilonBudget?: number } & Record<string, unknown>;
    seed?: number;
  } & Record<string, unknown>;
  rules: Record<string, unknown> & {
    rounds?: number;
    minBanks?: number;
    quorum?: number;
    fraction?: number;
    roundTimeoutMs?: number;
  };
}

export interface ModelInfo {
  version: number;
  parameters: number;
  sha256: string;
}

export interface AuditVerifyView {
  ok: boolean;
  entries: number;
  brokenAt?: number;
  reason?: string;
}
