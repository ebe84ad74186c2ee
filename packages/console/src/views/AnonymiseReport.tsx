/** The Anonymise page's report: the run's summary line (rows, k, ε) and one row per input column. */
export interface ColumnReport {
  column: string;
  role: string;
  action: string;
  output?: string;
  quasiIdentifier: boolean;
  detail: string;
}
export interface Report {
  rows: number;
  columns: ColumnReport[];
  unclassified: string[];
  quasiIdentifiers: string[];
  kAnonymity: number;
  equivalenceClasses: number;
  minK?: number;
  rowsBelowMinK?: number;
  privacy: { amountMechanism: string; epsilonPerTransaction: number; epsilonPerCustomerMax?: number };
}
export interface RunSummary {
  id: string;
  at: number;
  by: string;
  file: string;
  rows: number;
  kAnonymity: number;
  minK: number | null;
  epsilonPerTransaction: number;
  amount: string;
  time: string;
  download: string;
}

export function ReportTable({ report }: { report: Report }) {
  return (
    <>
      <p data-testid="anonymise-summary">
        {report.rows.toLocaleString('en-US')} rows · k-anonymity{' '}
        <strong data-testid="anonymise-k">{report.kAnonymity}</strong> over{' '}
        {report.quasiIdentifiers.join(', ') || 'no quasi-identifier'} ({report.equivalenceClasses} groups) · ε per
        transaction <strong data-testid="anonymise-epsilon">{report.privacy.epsilonPerTransaction}</strong>
        {report.privacy.epsilonPerCustomerMax !== undefined &&
          ` (at most ${report.privacy.epsilonPerCustomerMax} for the busiest customer, by sequential composition)`}
      </p>
      <table className="table" data-testid="anonymise-report">
        <thead>
          <tr>
            <th>Column</th>
            <th>Role</th>
            <th>Treatment</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {report.columns.map((c) => (
            <tr key={c.column}>
              <td className="mono">{c.column}</td>
              <td>{c.role}</td>
              <td>
                {c.action}
                {c.quasiIdentifier ? ' · quasi-identifier' : ''}
              </td>
              <td className="muted small">{c.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
