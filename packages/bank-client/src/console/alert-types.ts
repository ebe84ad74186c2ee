/**
 * What the console stores about flagged transactions: alerts, their reasons, analysts'
 * decisions, and the filters the alert list takes (db.ts stores them; plugins/alerts.ts serves them).
 */
import type { AlertExplanation } from './reasons.js';

export const DECISIONS = ['confirmed_fraud', 'false_positive', 'not_sure'] as const;
export type Decision = (typeof DECISIONS)[number];
export type AlertStatus = 'open' | Decision;
export const ALERT_STATUSES: readonly AlertStatus[] = ['open', ...DECISIONS];

/** One feature's contribution to a score, in log-odds (see common/explain). */
export interface Reason {
  feature: string;
  value: number;
  attribution: number;
  text: string;
}

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

export interface DecisionRecord {
  id: number;
  alertId: number;
  decision: Decision;
  note: string;
  analyst: string;
  at: number;
  auditSeq: number;
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
