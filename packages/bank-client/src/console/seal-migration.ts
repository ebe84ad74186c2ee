/**
 * One-time encryption of a console database written before the bank state was encrypted
 * (or while it ran in plaintext mode): every sensitive value still in clear is sealed in
 * place (sealed-columns.ts), a `state.encrypted` entry goes to the local audit log, and
 * the file is vacuumed and its write-ahead log truncated so no old plaintext page stays
 * on disk. Idempotent: sealed values are stored as blobs, plaintext ones as text.
 *
 * It runs at every open with a key, so a database that was sealed by a version that left the
 * TOTP secrets (accounts.totp_secret, sessions.pending_totp_secret) in clear has them sealed
 * at its next start too.
 */
import type { ConsoleDb } from './db.js';
import { sealBlob, sealNumber, sealReasons, sealText, type Column } from './sealed-columns.js';

type Row = Record<string, unknown>;

export interface SealedCounts {
  alerts: number;
  decisions: number;
  audit: number;
  /** accounts.totp_secret values sealed now. */
  totpSecrets: number;
  /** sessions.pending_totp_secret values sealed now. */
  pendingTotpSecrets: number;
}

/** Seals the plaintext rows of `db` (its cipher must be encrypted); returns the counts. */
export function sealPlaintextRows(db: ConsoleDb): SealedCounts {
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
    // One column of one table sealed in place (the names are this file's constants, never input).
    const sealColumn = (sealed: Column, key: string): number => {
      const [table, column] = sealed.split('.') as [string, string];
      const up = sql.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${key} = ?`);
      const rows = sql
        .prepare(`SELECT ${key}, ${column} FROM ${table} WHERE typeof(${column}) = 'text'`)
        .all() as Row[];
      for (const r of rows) up.run(sealText(c, r[column] as string, sealed), r[key]);
      return rows.length;
    };
    const audit = sealColumn('audit.details', 'seq');
    const totpSecrets = sealColumn('accounts.totp_secret', 'id');
    const pendingTotpSecrets = sealColumn('sessions.pending_totp_secret', 'id_hash');
    const out = { alerts, decisions, audit, totpSecrets, pendingTotpSecrets };
    if (total(out) > 0)
      db.appendAudit({
        at: Date.now(),
        type: 'state.encrypted',
        actor: 'system',
        details: { keyId: c.keyId, alerts, decisions, auditEntries: audit, totpSecrets, pendingTotpSecrets },
      });
    return out;
  })();
  if (total(counts) > 0) {
    sql.exec('VACUUM');
    sql.pragma('wal_checkpoint(TRUNCATE)');
  }
  return counts;
}

function total(c: SealedCounts): number {
  return c.alerts + c.decisions + c.audit + c.totpSecrets + c.pendingTotpSecrets;
}
