/**
 * Segments: this bank's own customers by consortium segment (issue 19 item 4), from the last
 * segmentation job the daemon took part in. Customers appear under their keyed pseudonyms
 * (HMAC-SHA-256 with a key kept sealed in the bank's state directory): the bank can
 * re-identify them, the page does not show raw ids. Counts are this bank's exact counts; the
 * consortium's (noised) figures are on the consortium dashboard.
 */
import { useEffect, useState } from 'react';
import { api } from '../lib/api';
import { useRefreshTick } from '../lib/refresh';

interface SegmentsView {
  segmentation: {
    jobId: number;
    at: number;
    features: string[];
    customers: number;
    segments: { index: number; name: string; centre: number[]; count: number; customers: string[] }[];
  } | null;
}

const LABELS: Record<string, string> = {
  mean_amount: 'Mean amount',
  total_amount: 'Total amount',
  tx_per_day: 'Tx / day',
  night_share: 'Night share',
  weekend_share: 'Weekend share',
  distinct_terminals: 'Terminals',
};

const show = (f: string, v: number) =>
  f.endsWith('_share') ? `${(Math.min(1, Math.max(0, v)) * 100).toFixed(0)}%` : v.toFixed(Math.abs(v) >= 100 ? 0 : 2);

export function SegmentsPage() {
  const [data, setData] = useState<SegmentsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  // A segmentation the consortium runs lands while the page is open: read again on focus.
  const tick = useRefreshTick();
  useEffect(() => {
    api<SegmentsView>('GET', '/api/segments')
      .then((d) => (setData(d), setError(null)))
      .catch((e: unknown) => setError((e as Error).message));
  }, [tick]);

  if (error)
    return (
      <section className="card">
        <h1>Segments</h1>
        <p className="callout callout-error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!data) return <p className="muted">Loading…</p>;
  const s = data.segmentation;
  return (
    <section className="card" data-testid="segments-page">
      <h1>Segments</h1>
      {!s ? (
        <p className="muted" data-testid="segments-none">
          No segmentation yet. The consortium runs one between training rounds (an admin starts it on the dashboard);
          this bank then sends aggregates only and keeps its own customers&apos; segments here.
        </p>
      ) : (
        <>
          <p className="muted" data-testid="segments-summary">
            Job {s.jobId}, {new Date(s.at).toLocaleString()}: {s.customers.toLocaleString('en-US')} customers of this
            bank in {s.segments.length} segments. Customers are shown under pseudonyms.
          </p>
          <table className="table" data-testid="segments-table">
            <thead>
              <tr>
                <th>Segment</th>
                {s.features.map((f) => (
                  <th key={f} className="num">
                    {LABELS[f] ?? f}
                  </th>
                ))}
                <th className="num">Customers here</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {s.segments.map((x) => (
                <tr key={x.index} data-testid="segments-row">
                  <td>{x.name}</td>
                  {s.features.map((f, t) => (
                    <td key={f} className="num">
                      {show(f, x.centre[t]!)}
                    </td>
                  ))}
                  <td className="num">{x.count.toLocaleString('en-US')}</td>
                  <td>
                    {x.count > 0 && (
                      <button className="btn btn-ghost" onClick={() => setOpen(open === x.index ? null : x.index)}>
                        {open === x.index ? 'Hide' : 'Customers'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {open !== null && (
            <div data-testid="segments-customers">
              <h3>{s.segments[open]!.name}</h3>
              <p className="mono small">{s.segments[open]!.customers.join(' ')}</p>
              {s.segments[open]!.count > s.segments[open]!.customers.length && (
                <p className="muted small">
                  First {s.segments[open]!.customers.length} of {s.segments[open]!.count}.
                </p>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
