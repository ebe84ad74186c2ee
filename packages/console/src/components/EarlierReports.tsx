/**
 * The person's earlier account and transaction reports (the daemon keeps each person's last five
 * in memory, GET /api/accounts/reports): one click reopens one, so leaving the page does not lose
 * a report the server still holds.
 */
import { useEffect, useState } from 'react';
import { api } from '../lib/api';
import { formatTime } from '../lib/format';

interface ReportSummary {
  id: string;
  kind: 'accounts' | 'transactions';
  file: string;
  createdAt: string;
  rows: number;
  flagged: number;
}

export function EarlierReports({
  current,
  refreshKey,
  onOpen,
}: {
  /** The report on the page (not offered again). */
  current: string | undefined;
  /** Changes when a new report was built: the list is read again. */
  refreshKey: unknown;
  onOpen: (id: string) => void;
}) {
  const [list, setList] = useState<ReportSummary[]>([]);
  useEffect(() => {
    api<{ reports: ReportSummary[] }>('GET', '/api/accounts/reports')
      .then((r) => setList(r.reports))
      .catch(() => setList([]));
  }, [refreshKey]);
  const others = list.filter((r) => r.id !== current);
  if (others.length === 0) return null;
  return (
    <section className="card" data-testid="accounts-earlier">
      <h2>Your earlier reports</h2>
      <p className="muted">Kept by the bank daemon in memory until it restarts.</p>
      <ul>
        {others.map((r) => (
          <li key={r.id}>
            <button type="button" className="btn" onClick={() => onOpen(r.id)} data-testid={`accounts-open-${r.id}`}>
              {r.file}
            </button>{' '}
            {r.kind === 'accounts' ? 'account report' : 'transaction scores'}: {r.rows.toLocaleString('en-US')} {r.kind}
            , {r.flagged.toLocaleString('en-US')} flagged, built at {formatTime(Date.parse(r.createdAt))}
          </li>
        ))}
      </ul>
    </section>
  );
}
