/**
 * What the bank console's REST API returns (packages/bank-client/src/console/plugins).
 * Shapes the daemon declares for both sides are imported type-only from its source, so
 * nothing but types reaches the browser bundle.
 */
import type { DecisionRecord } from '../../../bank-client/src/console/api-types';

export type { DecisionRecord };

export type AlertStatus = 'open' | 'confirmed_fraud' | 'false_positive' | 'not_sure';
export type Decision = Exclude<AlertStatus, 'open'>;

export interface WhoAmI {
  username: string;
  displayName: string;
  role: 'admin' | 'ml-engineer' | 'analyst';
  permissions: string[];
  mfaEnabled: boolean;
  setup: 'password' | 'mfa' | null;
  expiresAt: number;
}

export interface AlertSummary {
  id: number;
  transactionId: string;
  accountId: string | null;
  time: string | null;
  amount: number | null;
  logit: number;
  probability: number;
  status: AlertStatus;
  source: string;
  line: number | null;
  modelVersion: number;
  createdAt: number;
}

export interface AlertList {
  total: number;
  counts: Record<AlertStatus, number>;
  alerts: AlertSummary[];
}

export interface Reason {
  feature: string;
  value: number;
  attribution: number;
  text: string;
}

export interface AlertDetail extends AlertSummary {
  features: Record<string, number>;
  /** Top reasons raising the score, in words. */
  reasons: Reason[];
  /** Largest attributions (log-odds), for the bar chart. */
  bars: { feature: string; attribution: number }[];
  /** Why there are no reasons, when there are none. */
  explanationNote: string | null;
  explanation: { method: string; baseValue: number; background: 'bank-kmeans' | 'scaler-mean' } | null;
  similar: (AlertSummary & { distance: number; decision: DecisionRecord | null })[];
  decisions: DecisionRecord[];
}

export interface UploadResult {
  uploadId: number;
  file: string;
  rows: number;
  flagged: number;
  modelVersion: number;
  threshold: { logit: number; probability: number } | null;
  /** Alerts whose reasons are being computed in the background. */
  explaining: number;
  notices: string[];
  message: string;
}

export type ThresholdKind = 'probability' | 'fpr' | 'precision' | 'alerts-per-day';

export interface OperatingThreshold {
  logit: number;
  probability: number;
  target: { kind: ThresholdKind; value: number };
  implied: { precision: number; recall: number; fpr: number; alertsPerDay: number | null } | null;
  validation: { rows: number; frauds: number } | null;
  curve: { recall: number; precision: number }[];
  modelVersion: number;
  chosenBy: string;
  at: number;
}

export interface ThresholdState {
  threshold: OperatingThreshold | null;
  message: string | null;
  targets: ThresholdKind[];
  validation: boolean;
}
