/**
 * What the bank console's REST API returns (packages/bank-client/src/console/plugins).
 * Shapes the daemon declares for both sides are imported type-only from its source, so
 * nothing but types reaches the browser bundle.
 */
import type {
  AlertStatus,
  Decision,
  DecisionRecord,
  OperatingThreshold,
  Reason,
  ThresholdTargetKind,
} from '../../../bank-client/src/console/api-types';

// The daemon's ThresholdTargetKind, under the name the app's pages use.
export type { AlertStatus, Decision, DecisionRecord, OperatingThreshold, Reason, ThresholdTargetKind as ThresholdKind };

export interface WhoAmI {
  username: string;
  displayName: string;
  role: 'admin' | 'ml-engineer' | 'analyst';
  permissions: string[];
  mfaEnabled: boolean;
  setup: 'password' | 'mfa' | null;
  expiresAt: number;
}

/**
 * GET /api/auth/session: 200 whether or not anyone is signed in (a 401 on the sign-in page
 * would be logged by the browser as a console error), with /api/whoami's fields when someone is.
 */
export type SessionState = { signedIn: false } | ({ signedIn: true } & WhoAmI);

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

export interface ThresholdState {
  threshold: OperatingThreshold | null;
  message: string | null;
  targets: ThresholdTargetKind[];
  validation: boolean;
}
