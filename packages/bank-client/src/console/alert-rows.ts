/**
 * Reading the alerts table when some of its columns may be sealed (sealed-columns.ts):
 * one row as an AlertRecord, the queue filtered on sealed columns in memory, and the
 * labels analysts confirmed (the feedback loop's input). The store itself is db.ts.
 */
import type Database from 'better-sqlite3';
import type { StateCipher } from '../state-crypto/index.js';
import type { AlertFilter, AlertRecord, AlertStatus } from './alert-types.js';
import type { AlertExplanation } from './reasons.js';
import { openFeatures, openNumber, openText } from './sealed-columns.js';

type Row = Record<string, unknown>;

export function toAlert(c: StateCipher, r: Row): AlertRecord {
  return {
    id: r.id as number,
    uploadId: (r.upload_id as number | null) ?? null,
    source: r.source as string,
    line: (r.line as number | null) ?? null,
    transactionId: openText(c, r.transaction_id, 'alerts.transaction_id')!,
    accountId: openText(c, r.account_id, 'alerts.account_id'),
    time: openText(c, r.tx_time, 'alerts.tx_time'),
    amount: openNumber(c, r.amount, 'alerts.amount'),
    featureNames: JSON.parse(r.feature_names as string) as string[],
    features: Array.from(openFeatures(c, r.features as Buffer)),
    logit: r.logit as number,
    probability: r.probability as number,
    modelVersion: r.model_version as number,
    explanation: JSON.parse(openText(c, r.reasons, 'alerts.reasons')!) as AlertExplanation | null,
    status: openText(c, r.status, 'alerts.status') as AlertStatus,
    createdAt: r.created_at as number,
  };
}

/** A label the analysts confirmed, for the bank's next rounds of training (feedback loop). */
export interface ConfirmedLabel {
  alertId: number;
  transactionId: string;
  /** 1: confirmed fraud, 0: false positive. */
  label: 0 | 1;
  featureNames: string[];
  /** Raw (unscaled) features as scored. */
  features: Float32Array;
  /** When the deciding decision was made (epoch ms). */
  at: number;
}

/**
 * listAlerts with filters on sealed columns: the clear ones (time) select in SQL in score
 * order, status and amount are opened and filtered here. Opening two values costs ~20 µs
 * a row, so ~0.2 s for a queue of 10,000 alerts.
 */
export function listSealedAlerts(
  sql: Database.Database,
  c: StateCipher,
  f: AlertFilter,
): { total: number; alerts: AlertRecord[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.from !== undefined) {
    where.push('created_at >= ?');
    args.push(f.from);
  }
  if (f.to !== undefined) {
    where.push('created_at < ?');
    args.push(f.to);
  }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const ids: number[] = [];
  const stmt = sql.prepare(`SELECT id, status, amount FROM alerts ${w} ORDER BY logit DESC, id ASC`);
  for (const r of stmt.iterate(...args) as Iterable<Row>) {
    if (f.status !== undefined && openText(c, r.status, 'alerts.status') !== f.status) continue;
    if (f.minAmount !== undefined || f.maxAmount !== undefined) {
      const amount = openNumber(c, r.amount, 'alerts.amount');
      if (amount === null) continue;
      if (f.minAmount !== undefined && !(amount >= f.minAmount)) continue;
      if (f.maxAmount !== undefined && !(amount <= f.maxAmount)) continue;
    }
    ids.push(r.id as number);
  }
  const offset = f.offset ?? 0;
  const page = ids.slice(offset, offset + (f.limit ?? 50));
  const one = sql.prepare('SELECT * FROM alerts WHERE id = ?');
  return { total: ids.length, alerts: page.map((id) => toAlert(c, one.get(id) as Row)) };
}

/**
 * The labels analysts confirmed, one per transaction: the latest decision on any of its alerts
 * (a transaction scored twice, or uploaded in two files, has two), when that is "confirmed fraud"
 * (1) or "false positive" (0). "Not sure" on either alert withdraws a label given on the other:
 * deciding per alert first kept the other alert's label in training. Oldest decision first.
 * Read by the daemon at each round (feedback loop, ../feedback.ts) and by GET /api/feedback.
 */
export function readConfirmedLabels(sql: Database.Database, c: StateCipher): ConfirmedLabel[] {
  const alert = sql.prepare('SELECT id, transaction_id, feature_names, features FROM alerts WHERE id = ?');
  // Transaction ids are sealed at rest: each alert's is opened once.
  const txOf = new Map<number, string | null>();
  const transactionOf = (alertId: number): string | null => {
    let tx = txOf.get(alertId);
    if (tx === undefined) {
      const r = alert.get(alertId) as Row | undefined;
      tx = r ? openText(c, r.transaction_id, 'alerts.transaction_id')! : null;
      txOf.set(alertId, tx);
    }
    return tx;
  };
  const latest = new Map<string, { alertId: number; decision: string; at: number }>();
  for (const r of sql
    .prepare('SELECT alert_id, decision, at FROM decisions ORDER BY at, id')
    .iterate() as Iterable<Row>) {
    const alertId = r.alert_id as number;
    const tx = transactionOf(alertId);
    if (tx === null) continue;
    latest.delete(tx); // re-inserted: the map stays in order of each transaction's latest decision
    latest.set(tx, { alertId, decision: openText(c, r.decision, 'decisions.decision')!, at: r.at as number });
  }
  const out: ConfirmedLabel[] = [];
  for (const [transactionId, d] of latest) {
    if (d.decision !== 'confirmed_fraud' && d.decision !== 'false_positive') continue;
    const r = alert.get(d.alertId) as Row;
    out.push({
      alertId: d.alertId,
      transactionId,
      label: d.decision === 'confirmed_fraud' ? 1 : 0,
      featureNames: JSON.parse(r.feature_names as string) as string[],
      features: openFeatures(c, r.features as Buffer),
      at: d.at,
    });
  }
  return out.sort((a, b) => a.at - b.at || a.alertId - b.alertId);
}
