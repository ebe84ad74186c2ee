/**
 * Shapes the console's REST API sends that the browser app (packages/console) reads with
 * the same declaration: its src/lib/types.ts imports them type-only from this file, as the
 * dashboard does with the aggregator's shapes (common/src/api), so the daemon and the app
 * cannot drift apart.
 *
 * This file must import nothing: the app's typecheck (`tsc -p packages/console`: DOM
 * libraries, no Node types) compiles it, and anything it imported would be compiled along
 * with it. The app's `import type` keeps it out of the bundle.
 */

export const DECISIONS = ['confirmed_fraud', 'false_positive', 'not_sure'] as const;
export type Decision = (typeof DECISIONS)[number];

/**
 * Where an alert stands: open until an analyst decides it, then its latest decision. Each
 * alert's `status` and the keys of `counts` in GET /api/alerts, and the `status` filter it takes.
 */
export type AlertStatus = 'open' | Decision;

/**
 * One feature's contribution to a score, in log-odds (see common/explain): the `reasons` of
 * GET /api/alerts/:id and of each transaction POST /api/score answers (none unless flagged).
 */
export interface Reason {
  feature: string;
  value: number;
  attribution: number;
  text: string;
}

/**
 * One analyst's decision on an alert, as db.ts returns it: the `decisions` and each similar
 * case's `decision` of GET /api/alerts/:id, and the body of POST /api/alerts/:id/decision.
 */
export interface DecisionRecord {
  id: number;
  alertId: number;
  decision: Decision;
  note: string;
  analyst: string;
  at: number;
  auditSeq: number;
}

/** What the operating threshold is chosen by: the `targets` of GET /api/threshold, the `kind` PUT takes. */
export type ThresholdTargetKind = 'probability' | 'fpr' | 'precision' | 'alerts-per-day';

/**
 * The operating threshold as the console stores it (threshold.ts): the `threshold` of
 * GET /api/threshold (null when not chosen yet) and the body of PUT /api/threshold.
 */
export interface OperatingThreshold {
  logit: number;
  probability: number;
  target: { kind: ThresholdTargetKind; value: number };
  /** What it implies on the bank's validation split (null when the console has none). */
  implied: { precision: number; recall: number; fpr: number; alertsPerDay: number | null } | null;
  /** Validation rows it was chosen on, and the frauds among them. */
  validation: { rows: number; frauds: number } | null;
  /** PR curve on the validation split (thinned), for the chart. */
  curve: { recall: number; precision: number }[];
  modelVersion: number;
  chosenBy: string;
  at: number;
}
