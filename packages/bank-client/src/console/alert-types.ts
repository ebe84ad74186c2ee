/**
 * What the console stores about flagged transactions: alerts, their reasons, analysts'
 * decisions, and the filters the alert list takes (db.ts stores them; plugins/alerts.ts serves them).
 */
import { DECISIONS, type AlertStatus } from './api-types.js';
import type { AlertExplanation } from './reasons.js';

// Declared in api-types.ts, which the browser app imports too.
export { DECISIONS, type AlertStatus, type Decision, type DecisionRecord, type Reason } from './api-types.js';

export const ALERT_STATUSES: readonly AlertStatus[] = ['open', ...DECISIONS];

export interface AlertInput {
  source: string;
  line: number | null;
  transactionId: string;
  accountId: string | null;
  time: string | null;
  amount: number | null;
  featureNames: string[];
  /** Raw (unscaled) features, as the transaction arrived. */
  features: Float32Array;
  logit: number;
  probability: number;
  modelVersion: number;
  /** Why it was flagged (null when no explanation was computed). */
  explanation: AlertExplanation | null;
}

export interface AlertRecord extends Omit<AlertInput, 'features'> {
  id: number;
  uploadId: number | null;
  features: number[];
  status: AlertStatus;
  createdAt: number;
}

export interface AlertFilter {
  status?: AlertStatus;
  /** Flagged at or after / before (epoch ms). */
  from?: number;
  to?: number;
  minAmount?: number;
  maxAmount?: number;
  limit?: number;
  offset?: number;
}
