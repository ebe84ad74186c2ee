/**
 * The console's own SQLite database (`<state-dir>/console.sqlite`): people (the accounts
 * package's tables), the local hash-chained audit log, scored uploads, flagged
 * transactions (alerts), analysts' decisions, and settings (the operating threshold).
 *
 * better-sqlite3 is synchronous, so each method is atomic within the process; an upload's
 * alerts and a decision with its audit entry are each written in one transaction.
 *
 * When the bank state is encrypted at rest, the sensitive columns are sealed one by one
 * (sealed-columns.ts says which, and why the rest stay in clear); filters on sealed
 * columns (status, amount) then run in memory over the rows the clear ones select.
 *
 * The file and its -wal, -shm and -journal companions are mode 0600 (restrictSqliteFiles, as the
 * aggregator's store), and a directory made for it 0700: what stays in clear (scores, user
 * names, password hashes) is still only the bank's business, and SQLite would otherwise create
 * them 0644 (world-readable).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { restrictSqliteFiles } from '@finsecure/accounts/sqlite-files';
import { ConsoleAccountStore, SESSION_TOUCH_MS } from './session-store.js';
import { nextEntry, verifyChain, type AuditEntry, type AuditInput } from './audit-chain.js';
import type { AlertExplanation } from './reasons.js';
import { SCHEMA } from './schema.js';
import type { AlertFilter, AlertInput, AlertRecord, AlertStatus, Decision, DecisionRecord } from './alert-types.js';
import { cipherFor, type StateCipher } from '../state-crypto/index.js';
import { openFeatures, openText, sealBlob, sealNumber, sealReasons, sealText } from './sealed-columns.js';
import { listSealedAlerts, readConfirmedLabels, toAlert, type ConfirmedLabel } from './alert-rows.js';

export type { ConfirmedLabel } from './alert-rows.js';
export * from './alert-types.js';
import { sealPlaintextRows } from './seal-migration.js';

type Row = Record<string, unknown>;

export class ConsoleDb {
  readonly db: Database.Database;
  readonly accounts: ConsoleAccountStore;
  /** Settings read or written by this instance (getSetting). */
  private readonly settings = new Map<string, unknown>();

  /**
   * @param cipher how sensitive columns are kept (default: as the state directory holding
   *   `file` was opened, see state-crypto); an encrypted cipher seals plaintext rows left by
   *   an earlier version once, with a `state.encrypted` audit entry
   * @param sessionTouchMs resolution of a session's stored last-seen time (session-store.ts)
   */
  constructor(
    file: string,
    readonly cipher: StateCipher = cipherFor(path.dirname(path.resolve(file))),
    sessionTouchMs = SESSION_TOUCH_MS,
  ) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    restrictSqliteFiles(file);
    this.db = new Database(file);
    // Overwritten and deleted cells are zeroed, so no plaintext lingers in free pages.
    this.db.pragma('secure_delete = ON');
    this.db.pragma('journal_mode = WAL');
    // SQLite creates -wal and -shm with the database file's mode (0600 now); this covers
    // companions an earlier version left 0644, opened before they are rewritten.
    restrictSqliteFiles(file);
    // Decisions and their audit entries must survive a crash once answered (as the aggregator's store).
    this.db.pragma('synchronous = FULL');
    // `finsecure-bank users` may write while the console runs.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.accounts = new ConsoleAccountStore(() => this.db, sessionTouchMs, cipher);
    if (cipher.encrypted) sealPlaintextRows(this);
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
    const current = row.v ?? 0;
    for (const m of SCHEMA) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  // --- audit -------------------------------------------------------------------------

  appendAudit(input: AuditInput): AuditEntry {
    const head = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; hash: string } | undefined;
    const e = nextEntry(head ?? null, input);
    this.db
      .prepare('INSERT INTO audit (seq, at, type, actor, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(
        e.seq,
        e.at,
        e.type,
        e.actor,
        sealText(this.cipher, JSON.stringify(e.details), 'audit.details'),
        e.prevHash,
        e.hash,
      );
    return e;
  }

  listAudit(opts: { afterSeq?: number; limit?: number } = {}): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(opts.afterSeq ?? 0, opts.limit ?? 1000) as Row[];
    return rows.map((r) => ({
      seq: r.seq as number,
      at: r.at as number,
      type: r.type as string,
      actor: r.actor as string,
      details: JSON.parse(openText(this.cipher, r.details, 'audit.details')!) as Record<string, unknown>,
      prevHash: r.prev_hash as string,
      hash: r.hash as string,
    }));
  }

  verifyAudit(): ReturnType<typeof verifyChain> {
    const pages = (function* (list: (after: number) => AuditEntry[]): Generator<AuditEntry> {
      let after = 0;
      for (;;) {
        const page = list(after);
        if (!page.length) return;
        yield* page;
        after = page[page.length - 1]!.seq;
      }
    })((after) => this.listAudit({ afterSeq: after, limit: 1000 }));
    return verifyChain(pages);
  }

  // --- settings ------------------------------------------------------------------------

  /**
   * A setting (null when unset). Cached after the first read: settings are written only
   * through setSetting of this instance (the console process), and the JSON scoring path
   * reads the operating threshold on every request.
   */
  getSetting<T>(key: string): T | null {
    if (this.settings.has(key)) return this.settings.get(key) as T | null;
    const r = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    const v = r ? (JSON.parse(r.value) as T) : null;
    this.settings.set(key, v);
    return v;
  }

  /** Stores a setting and its audit entry together. */
  setSetting(key: string, value: unknown, audit: AuditInput): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        )
        .run(key, JSON.stringify(value));
      this.appendAudit(audit);
    })();
    // After the commit, and as a reader would see it (a copy, through JSON).
    this.settings.set(key, JSON.parse(JSON.stringify(value)) as unknown);
  }

  // --- alerts --------------------------------------------------------------------------

  /**
   * Stores one upload's flagged transactions, the upload row and its audit entry in one
   * transaction: all or nothing.
   */
  insertUpload(
    upload: { name: string; rows: number; modelVersion: number; by: string; at: number },
    alerts: AlertInput[],
  ): { uploadId: number; alertIds: number[] } {
    return this.db.transaction(() => {
      const info = this.db
        .prepare('INSERT INTO uploads (name, rows, flagged, model_version, by, at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(upload.name, upload.rows, alerts.length, upload.modelVersion, upload.by, upload.at);
      const uploadId = Number(info.lastInsertRowid);
      const alertIds = this.insertAlerts(alerts, uploadId, upload.at);
      this.appendAudit({
        at: upload.at,
        type: 'upload.scored',
        actor: upload.by,
        details: {
          upload: uploadId,
          name: upload.name,
          rows: upload.rows,
          flagged: alerts.length,
          model: upload.modelVersion,
        },
      });
      return { uploadId, alertIds };
    })();
  }

  /** Stores flagged transactions scored through the JSON API (no upload). */
  insertApiAlerts(alerts: AlertInput[], at: number): number[] {
    if (!alerts.length) return [];
    return this.db.transaction(() => this.insertAlerts(alerts, null, at))();
  }

  private insertAlerts(alerts: AlertInput[], uploadId: number | null, at: number): number[] {
    const stmt = this.db.prepare(
      `INSERT INTO alerts (upload_id, source, line, transaction_id, account_id, tx_time, amount, feature_names,
         features, logit, probability, model_version, reasons, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Feature names are the same for every row of a model: share one JSON string.
    let namesKey: string[] | null = null;
    let namesJson = '';
    return alerts.map((a) => {
      if (a.featureNames !== namesKey) {
        namesKey = a.featureNames;
        namesJson = JSON.stringify(a.featureNames);
      }
      const blob = Buffer.from(a.features.buffer, a.features.byteOffset, a.features.byteLength);
      const c = this.cipher;
      const info = stmt.run(
        uploadId,
        a.source,
        a.line,
        sealText(c, a.transactionId, 'alerts.transaction_id'),
        sealText(c, a.accountId, 'alerts.account_id'),
        sealText(c, a.time, 'alerts.tx_time'),
        sealNumber(c, a.amount, 'alerts.amount'),
        namesJson,
        sealBlob(c, blob, 'alerts.features'),
        a.logit,
        a.probability,
        a.modelVersion,
        sealReasons(c, JSON.stringify(a.explanation)),
        sealText(c, 'open', 'alerts.status'),
        at,
      );
      return Number(info.lastInsertRowid);
    });
  }

  /** Alerts by descending score (logit), filtered; `total` counts all matches. */
  listAlerts(f: AlertFilter = {}): { total: number; alerts: AlertRecord[] } {
    if (this.cipher.encrypted && (f.status !== undefined || f.minAmount !== undefined || f.maxAmount !== undefined))
      return listSealedAlerts(this.db, this.cipher, f);
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.status) {
      where.push('status = ?');
      args.push(f.status);
    }
    if (f.from !== undefined) {
      where.push('created_at >= ?');
      args.push(f.from);
    }
    if (f.to !== undefined) {
      where.push('created_at < ?');
      args.push(f.to);
    }
    if (f.minAmount !== undefined) {
      where.push('amount >= ?');
      args.push(f.minAmount);
    }
    if (f.maxAmount !== undefined) {
      where.push('amount <= ?');
      args.push(f.maxAmount);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM alerts ${w}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM alerts ${w} ORDER BY logit DESC, id ASC LIMIT ? OFFSET ?`)
      .all(...args, f.limit ?? 50, f.offset ?? 0) as Row[];
    return { total, alerts: rows.map((r) => toAlert(this.cipher, r)) };
  }

  getAlert(id: number): AlertRecord | null {
    const r = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as Row | undefined;
    return r ? toAlert(this.cipher, r) : null;
  }

  /**
   * Up to `limit` stored alerts scored by the same model feature layout, other than `id`,
   * as (id, raw features): the candidates for "similar past cases". Most recent first,
   * at most `scan` of them, so a detail page stays fast on a large history.
   */
  *alertFeatures(
    exceptId: number,
    featureNamesJson: string,
    scan = 20_000,
  ): Generator<{ id: number; f: Float32Array }> {
    const stmt = this.db.prepare(
      'SELECT id, features FROM alerts WHERE id != ? AND feature_names = ? ORDER BY id DESC LIMIT ?',
    );
    for (const r of stmt.iterate(exceptId, featureNamesJson, scan) as Iterable<{ id: number; features: Buffer }>) {
      yield { id: r.id, f: openFeatures(this.cipher, r.features) };
    }
  }

  featureNamesJson(id: number): string | null {
    const r = this.db.prepare('SELECT feature_names FROM alerts WHERE id = ?').get(id) as
      { feature_names: string } | undefined;
    return r?.feature_names ?? null;
  }

  hasExplanation(id: number): boolean {
    const r = this.db.prepare("SELECT reasons != 'null' AS has FROM alerts WHERE id = ?").get(id) as
      { has: number } | undefined;
    return r?.has === 1;
  }

  setExplanation(id: number, e: AlertExplanation): void {
    this.db.prepare('UPDATE alerts SET reasons = ? WHERE id = ?').run(sealReasons(this.cipher, JSON.stringify(e)), id);
  }

  /** Records a decision, the alert's new status and the audit entry, in one transaction. */
  decide(
    alertId: number,
    d: { decision: Decision; note: string; analyst: string; analystId: string | null; at: number },
  ): DecisionRecord | null {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT id, transaction_id, status FROM alerts WHERE id = ?').get(alertId) as
        Row | undefined;
      if (!row) return null;
      const c = this.cipher;
      const alert = {
        transaction_id: openText(c, row.transaction_id, 'alerts.transaction_id'),
        status: openText(c, row.status, 'alerts.status'),
      };
      const entry = this.appendAudit({
        at: d.at,
        type: 'alert.decided',
        actor: d.analyst,
        details: {
          alert: alertId,
          transaction: alert.transaction_id,
          decision: d.decision,
          from: alert.status,
          note: d.note,
        },
      });
      const info = this.db
        .prepare(
          'INSERT INTO decisions (alert_id, decision, note, analyst, analyst_id, at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          alertId,
          sealText(c, d.decision, 'decisions.decision'),
          sealText(c, d.note, 'decisions.note'),
          d.analyst,
          d.analystId,
          d.at,
          entry.seq,
        );
      this.db
        .prepare('UPDATE alerts SET status = ? WHERE id = ?')
        .run(sealText(c, d.decision, 'alerts.status'), alertId);
      return {
        id: Number(info.lastInsertRowid),
        alertId,
        decision: d.decision,
        note: d.note,
        analyst: d.analyst,
        at: d.at,
        auditSeq: entry.seq,
      };
    })();
  }

  decisionsOf(alertId: number): DecisionRecord[] {
    const rows = this.db.prepare('SELECT * FROM decisions WHERE alert_id = ? ORDER BY at, id').all(alertId) as Row[];
    return rows.map((r) => ({
      id: r.id as number,
      alertId: r.alert_id as number,
      decision: openText(this.cipher, r.decision, 'decisions.decision') as Decision,
      note: openText(this.cipher, r.note, 'decisions.note')!,
      analyst: r.analyst as string,
      at: r.at as number,
      auditSeq: r.audit_seq as number,
    }));
  }

  countAlerts(): Record<AlertStatus, number> {
    const out = { open: 0, confirmed_fraud: 0, false_positive: 0, not_sure: 0 } as Record<AlertStatus, number>;
    if (this.cipher.encrypted) {
      for (const r of this.db.prepare('SELECT status FROM alerts').iterate() as Iterable<Row>)
        out[openText(this.cipher, r.status, 'alerts.status') as AlertStatus]++;
      return out;
    }
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM alerts GROUP BY status').all() as Row[]) {
      out[r.status as AlertStatus] = r.n as number;
    }
    return out;
  }

  /**
   * The labels analysts confirmed, one per alert: its latest decision, when that is
   * "confirmed fraud" (1) or "false positive" (0); "not sure" withdraws an earlier label.
   * Oldest first. Read by the daemon at each round (feedback loop, ../feedback.ts).
   */
  confirmedLabels(): ConfirmedLabel[] {
    return readConfirmedLabels(this.db, this.cipher);
  }
}
