/**
 * The account report as CSV: account, the features, anomaly_score, flagged (0/1), reasons
 * (in words, "; "-separated). Notes (e.g. "only one account") come first as `#` comment
 * lines so that a reader of the file sees them too.
 */
import { spreadsheetSafeField } from '../data/csv.js';
import type { AccountReport } from './report.js';

function cell(x: number): string {
  if (Number.isNaN(x)) return '';
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 1e6) / 1e6);
}

export function accountReportCsv(report: AccountReport): string {
  const lines = report.notes.map((n) => `# ${n.replace(/[\r\n]+/g, ' ')}`);
  lines.push(
    ['account', ...report.featureNames.map(spreadsheetSafeField), 'anomaly_score', 'flagged', 'reasons'].join(','),
  );
  for (const r of report.rows) {
    lines.push(
      [
        spreadsheetSafeField(r.account),
        ...r.features.map(cell),
        cell(r.score),
        r.flagged ? '1' : '0',
        spreadsheetSafeField(r.explanation),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}
