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
