/** The alert queue: flagged transactions, highest score first, with filters. */
import { useEffect, useState } from 'react';
import { StatusBadge } from '../components/StatusBadge';
import { api } from '../lib/api';
import { useRefreshTick } from '../lib/refresh';
import { formatAmount, formatProbability, formatTime, DECISION_LABEL } from '../lib/format';
import type { AlertList as AlertListData, AlertStatus } from '../lib/types';

interface Filters {
  status: AlertStatus | '';
  from: string;
  to: string;
  minAmount: string;
  maxAmount: string;
}

function query(f: Filters, offset: number): string {
  const q = new URLSearchParams({ limit: '50', offset: String(offset) });
  if (f.status) q.set('status', f.status);
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  if (f.minAmount) q.set('minAmount', f.minAmount);
  if (f.maxAmount) q.set('maxAmount', f.maxAmount);
  return q.toString();
}

/**
 * Why the filters cannot match anything (a lower bound above its upper bound), in the form's
 * words, or null. Such a filter is not sent: the API would answer 400 naming both values
 * (plugins/alerts.ts rangeError), and an empty queue would read as "no alerts".
 */
function rangeProblem(f: Filters): string | null {
  const out: string[] = [];
  if (f.from && f.to && f.from > f.to) out.push(`"Flagged from" ${f.from} is after "to" ${f.to}`);
  const min = Number(f.minAmount);
  const max = Number(f.maxAmount);
  if (f.minAmount !== '' && f.maxAmount !== '' && Number.isFinite(min) && Number.isFinite(max) && min > max)
    out.push(`"Amount ≥" ${f.minAmount} is greater than "≤" ${f.maxAmount}`);
  return out.length ? `${out.join('; ')}: no alert can match, correct the range.` : null;
}

const ALERTS_REFRESH_MS = 15_000;

export function AlertList() {
  const [filters, setFilters] = useState<Filters>({ status: 'open', from: '', to: '', minAmount: '', maxAmount: '' });
  const [offset, setOffset] = useState(0);
  const [data, setData] = useState<AlertListData | null>(null);
  const [error, setError] = useState<string | null>(null);
  // New alerts come from real-time scoring, and other analysts decide alerts: the list is read
  // again now and then, and when the window gets the focus back.
  const tick = useRefreshTick(ALERTS_REFRESH_MS);

  useEffect(() => {
    let live = true;
    const problem = rangeProblem(filters);
    if (problem) {
      setData(null);
      setError(problem);
      return;
    }
    api<AlertListData>('GET', `/api/alerts?${query(filters, offset)}`)
      .then((d) => live && (setData(d), setError(null)))
      // No stale rows under a message saying the filter failed.
      .catch((e: Error) => live && (setData(null), setError(e.message)));
    return () => {
      live = false;
    };
  }, [filters, offset, tick]);

  const set = (k: keyof Filters) => (e: { target: { value: string } }) => {
    setOffset(0);
    setFilters({ ...filters, [k]: e.target.value });
  };

  return (
    <section className="card">
      <h1>Alerts</h1>
      <div className="filters">
        <label>
          Status
          <select value={filters.status} onChange={set('status')} data-testid="filter-status">
            <option value="">All</option>
            {(['open', 'confirmed_fraud', 'false_positive', 'not_sure'] as const).map((s) => (
              <option key={s} value={s}>
                {DECISION_LABEL[s]} {data ? `(${data.counts[s]})` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Flagged from <input type="date" value={filters.from} onChange={set('from')} data-testid="filter-from" />
        </label>
        <label>
          to <input type="date" value={filters.to} onChange={set('to')} data-testid="filter-to" />
        </label>
        <label>
          Amount ≥{' '}
          <input
            type="number"
            value={filters.minAmount}
            onChange={set('minAmount')}
            className="narrow"
            data-testid="filter-min-amount"
          />
        </label>
        <label>
          ≤{' '}
          <input
            type="number"
            value={filters.maxAmount}
            onChange={set('maxAmount')}
            className="narrow"
            aria-label="Amount ≤"
            data-testid="filter-max-amount"
          />
        </label>
      </div>
      {error && (
        <p className="callout callout-error" role="alert" data-testid="alerts-error">
          {error}
        </p>
      )}
      {data && data.total === 0 && (
        <p className="muted" data-testid="alerts-empty">
          No alerts match. Score a file to fill the queue.
        </p>
      )}
      {data && data.total > 0 && (
        <>
          <table className="table" data-testid="alert-table">
            <thead>
              <tr>
                <th>Score</th>
                <th>Transaction</th>
                <th>Account</th>
                <th>Time</th>
                <th className="num">Amount</th>
                <th>Status</th>
                <th>Flagged</th>
              </tr>
            </thead>
            <tbody>
              {data.alerts.map((a) => (
                <tr key={a.id} data-testid="alert-row" onClick={() => (window.location.hash = `#/alerts/${a.id}`)}>
                  <td className="mono" title={`logit ${a.logit.toFixed(4)}`}>
                    {formatProbability(a.probability, a.logit)}
                  </td>
                  <td>
                    <a href={`#/alerts/${a.id}`}>{a.transactionId}</a>
                  </td>
                  <td>{a.accountId ?? '—'}</td>
                  <td>{a.time ?? '—'}</td>
                  <td className="num">{formatAmount(a.amount)}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td className="muted">{formatTime(a.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <span className="muted">
              {offset + 1}–{offset + data.alerts.length} of {data.total}
            </span>
            <button className="btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 50))}>
              Previous
            </button>
            <button className="btn" disabled={offset + 50 >= data.total} onClick={() => setOffset(offset + 50)}>
              Next
            </button>
          </div>
        </>
      )}
    </section>
  );
}
