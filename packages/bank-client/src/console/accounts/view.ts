/**
 * What the Accounts page shows of a stored report at a chosen threshold: the summary, a
 * score histogram (bins with their flagged counts, for the distribution chart), and one
 * page of rows, most anomalous first. Pure.
 */
import { FEATURE_LABELS, accountReportCsv, type AccountReport } from '@finsecure/common/accounts';
import { describeReason } from '@finsecure/common/anomaly';
import { spreadsheetSafeField } from '@finsecure/common/data';
import { reflagReport, type ReportCut } from '../../account-report.js';
import type { StoredReport } from './store.js';

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
  flagged: number;
}

/** `bins` equal-width bins over [min, max] of the finite scores (one bin when all are equal). */
export function scoreHistogram(report: AccountReport, bins = 30): HistogramBin[] {
  const scores = report.rows.map((r) => r.score).filter((s) => Number.isFinite(s));
  if (scores.length === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const k = hi > lo ? bins : 1;
  const width = hi > lo ? (hi - lo) / k : 1;
  const out: HistogramBin[] = Array.from({ length: k }, (_, i) => ({
    from: lo + i * width,
    to: i === k - 1 ? hi : lo + (i + 1) * width,
    count: 0,
    flagged: 0,
  }));
  for (const r of report.rows) {
    if (!Number.isFinite(r.score)) continue;
    const b = out[Math.min(k - 1, Math.floor((r.score - lo) / width))]!;
    b.count++;
    if (r.flagged) b.flagged++;
  }
  return out;
}

export interface ViewQuery {
  cut: ReportCut | null;
  offset: number;
  limit: number;
  flaggedOnly: boolean;
}

/** The report at the query's threshold (the upload's when none). */
export function atCut(stored: StoredReport, cut: ReportCut | null): AccountReport {
  return cut ? reflagReport(stored.report, cut) : stored.report;
}

export function reportView(stored: StoredReport, q: ViewQuery) {
  const report = atCut(stored, q.cut);
  const order = report.rows
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => !q.flaggedOnly || r.flagged)
    // NaN scores (one account only) last; ties in file order.
    .sort((a, b) => (Number.isNaN(b.r.score) ? -1 : Number.isNaN(a.r.score) ? 1 : b.r.score - a.r.score) || a.i - b.i);
  const rows = order.slice(q.offset, q.offset + q.limit).map(({ r, i }) => ({
    id: r.account,
    line: stored.lines ? stored.lines[i]! : null,
    features: r.features,
    score: Number.isNaN(r.score) ? null : r.score,
    flagged: r.flagged,
    reasons: r.reasons.map((x) => ({
      feature: x.feature,
      value: x.value,
      median: x.median,
      z: Number.isFinite(x.z) ? x.z : null,
      share: x.share ?? null,
      /** This reason in words (the explanation is these, "; "-joined). */
      text: describeReason(x, stored.kind === 'accounts' ? FEATURE_LABELS : {}),
    })),
    explanation: r.explanation,
  }));
  return {
    id: stored.id,
    kind: stored.kind,
    file: stored.file,
    createdAt: new Date(stored.createdAt).toISOString(),
    layout: stored.layout,
    detector: report.detector,
    seconds: stored.seconds,
    featureNames: report.featureNames,
    featureLabels: report.featureNames.map((f) => FEATURE_LABELS[f] ?? f),
    contamination: report.contamination,
    threshold: Number.isNaN(report.threshold) ? null : report.threshold,
    rowsTotal: report.rows.length,
    flagged: report.flagged,
    transactions: report.transactions,
    notes: report.notes,
    histogram: scoreHistogram(report),
    matching: order.length,
    offset: q.offset,
    rows,
  };
}

/** The CSV export at the query's threshold; a transaction report gives each row's file line too. */
export function reportCsv(stored: StoredReport, cut: ReportCut | null): string {
  const report = atCut(stored, cut);
  if (stored.kind === 'accounts') return accountReportCsv(report);
  const cell = (x: number) => (Number.isNaN(x) ? '' : String(Math.round(x * 1e6) / 1e6));
  const out = report.notes.map((n) => `# ${n.replace(/[\r\n]+/g, ' ')}`);
  out.push(
    [
      'transaction',
      'line',
      ...report.featureNames.map(spreadsheetSafeField),
      'anomaly_score',
      'flagged',
      'reasons',
    ].join(','),
  );
  report.rows.forEach((r, i) => {
    out.push(
      [
        spreadsheetSafeField(r.account),
        String(stored.lines![i]),
        ...r.features.map(cell),
        cell(r.score),
        r.flagged ? '1' : '0',
        spreadsheetSafeField(r.explanation),
      ].join(','),
    );
  });
  return out.join('\n') + '\n';
}
