/**
 * One-time encryption of a console database written before the bank state was encrypted
 * (or while it ran in plaintext mode): every sensitive value still in clear is sealed in
 * place (sealed-columns.ts), a `state.encrypted` entry goes to the local audit log, and
 * the file is vacuumed and its write-ahead log truncated so no old plaintext page stays
 * on disk. Idempotent: sealed values are stored as blobs, plaintext ones as text.
 */
import type { ConsoleDb } from './db.js';
import { sealBlob, sealNumber, sealReasons, sealText } from './sealed-columns.js';

type Row = Record<string, unknown>;

/** Seals the plaintext rows of `db` (its cipher must be encrypted); returns the counts. */
export function sealPlaintextRows(db: ConsoleDb): { alerts: number; decisions: number; audit: number } {
  const c = db.cipher;
  const sql = db.db;
  const counts = sql.transaction(() => {
    let alerts = 0;
    const upA = sql.prepare(
      'UPDATE alerts SET transaction_id = ?, account_id = ?, tx_time = ?, amount = ?, features = ?, reasons = ?, status = ? WHERE id = ?',
    );
    for (const r of sql.prepare("SELECT * FROM alerts WHERE typeof(transaction_id) = 'text'").all() as Row[]) {
      upA.run(
        sealText(c, r.transaction_id as string, 'alerts.transaction_id'),
        sealText(c, (r.account_id as string | null) ?? null, 'alerts.account_id'),
        sealText(c, (r.tx_time as string | null) ?? null, 'alerts.tx_time'),
        sealNumber(c, (r.amount as number | null) ?? null, 'alerts.amount'),
        sealBlob(c, r.features as Buffer, 'alerts.features'),
        sealReasons(c, r.reasons as string),
        sealText(c, r.status as string, 'alerts.status'),
        r.id,
      );
      alerts++;
    }
    let decisions = 0;
    const upD = sql.prepare('UPDATE decisions SET decision = ?, note = ? WHERE id = ?');
    for (const r of sql
      .prepare("SELECT id, decision, note FROM decisions WHERE typeof(note) = 'text'")
      .all() as Row[]) {
      upD.run(
        sealText(c, r.decision as string, 'decisions.decision'),
        sealText(c, r.note as string, 'decisions.note'),
        r.id,
      );
      decisions++;
    }
    let audit = 0;
    const upE = sql.prepare('UPDATE audit SET details = ? WHERE seq = ?');
    for (const r of sql.prepare("SELECT seq, details FROM audit WHERE typeof(details) = 'text'").all() as Row[]) {
      upE.run(sealText(c, r.details as string, 'audit.details'), r.seq);
      audit++;
    }
    if (alerts + decisions + audit > 0)
      db.appendAudit({
        at: Date.now(),
        type: 'state.encrypted',
        actor: 'system',
        details: { keyId: c.keyId, alerts, decisions, auditEntries: audit },
      });
    return { alerts, decisions, audit };
  })();
  if (counts.alerts + counts.decisions + counts.audit > 0) {
    sql.exec('VACUUM');
    sql.pragma('wal_checkpoint(TRUNCATE)');
  }
  return counts;
}
