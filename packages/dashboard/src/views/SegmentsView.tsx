/**
 * Customer segments of the consortium (issue 19): the latest completed segmentation job's
 * centres in original units with their generated names, noised sizes, fraud rate per segment
 * from the banks' noised counts, and the ε each bank spent; the recent jobs with their status;
 * the last consortium anomaly threshold (calibration job); and, for people who may control
 * training, a button that queues a segmentation.
 */
import { useCallback, useEffect, useState } from 'react';
import { Badge } from '../components/Badge';
import { EmptyState, Panel } from '../components/Panel';
import { getJson, sendJson } from '../lib/api';
import { formatDateTime } from '../lib/format';

/** The parts of a stored job (aggregator federation/jobs/types.ts) this view reads. */
interface JobView {
  id: number;
  kind: 'segmentation' | 'calibration';
  status: 'queued' | 'running' | 'completed' | 'failed';
  requestedAt: number;
  endedAt: number | null;
  failureReason: string | null;
  result: SegmentationResult | null;
}

interface SegmentationResult {
  features?: string[];
  k?: number;
  iterations?: number;
  converged?: boolean;
  centres?: number[][];
  names?: string[];
  sizes?: number[];
  fraudRate?: (number | null)[];
  privacy?: { maxEpsilon?: number; delta?: number; noiseMultiplier?: number };
  notes?: string[];
  declined?: { bank: string; stage: string; reason: string }[];
}

const FEATURE_LABELS: Record<string, string> = {
  mean_amount: 'Mean amount',
  total_amount: 'Total amount',
  tx_per_day: 'Tx / day',
  night_share: 'Night share',
  weekend_share: 'Weekend share',
  distinct_terminals: 'Terminals',
};

function formatValue(feature: string, v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (feature.endsWith('_share')) return `${(Math.min(1, Math.max(0, v)) * 100).toFixed(0)}%`;
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

const STATUS_TONE: Record<JobView['status'], 'ok' | 'info' | 'error' | 'muted'> = {
  completed: 'ok',
  running: 'info',
  queued: 'muted',
  failed: 'error',
};

/**
 * The differential privacy a segmentation started here asks for (the `npm start` demo's): banks
 * answer a job without it only if their own `segmentExact` setting allows exact answers, which
 * an aggregator could difference into one customer's features. Exact jobs stay possible through
 * the API for consortia whose banks allow them.
 */
const DEFAULT_PRIVACY = { clip: 4, noiseMultiplier: 2, histogramNoiseMultiplier: 3 };

export function SegmentsView({ token, canStart }: { token: string; canStart: boolean }) {
  const [jobs, setJobs] = useState<JobView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Apart from the actions' errors: the next load that succeeds clears it (an aggregator restart
  // fails one load; the panel must not say so for ever after).
  const [loadError, setLoadError] = useState<string | null>(null);
  const [k, setK] = useState(4);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setJobs(await getJson<JobView[]>('/api/jobs?limit=20', token));
      setLoadError(null);
    } catch (err) {
      setLoadError(`Could not load the analytics jobs: ${(err as Error).message}`);
    }
  }, [token]);
  const active = jobs?.some((j) => j.status === 'queued' || j.status === 'running') ?? false;
  useEffect(() => {
    void load();
    // While a job is queued or running, follow it; otherwise refresh now and then.
    const t = setInterval(() => void load(), active ? 1_000 : 10_000);
    return () => clearInterval(t);
  }, [load, active]);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      await sendJson('/api/jobs/segmentation', token, 'POST', { k, privacy: DEFAULT_PRIVACY });
      await load();
    } catch (err) {
      setError(`Segmentation refused: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const segmentations = (jobs ?? []).filter((j) => j.kind === 'segmentation');
  const calibration = (jobs ?? []).find((j) => j.kind === 'calibration' && j.status === 'completed');
  const cal = calibration?.result as { threshold?: number; contamination?: number; banks?: string[] } | undefined;
  const latest = segmentations.find((j) => j.status === 'completed' && j.result?.centres);
  const r = latest?.result;
  const features = r?.features ?? [];

  return (
    <Panel
      id="segments"
      title="Segments"
      testId="segments"
      subtitle="Customer segments across the consortium (federated k-means): centres in original units, noised sizes and fraud rates. No bank's customers leave it."
      actions={
        canStart && (
          <span className="row-buttons">
            <label className="small">
              k{' '}
              <input
                type="number"
                min={1}
                max={100}
                value={k}
                onChange={(e) => setK(Math.max(1, Math.min(100, Number(e.target.value) || 1)))}
                data-testid="segments-k"
                style={{ width: '4em' }}
              />
            </label>
            <button
              type="button"
              className="btn"
              data-testid="segments-start"
              disabled={busy || active}
              onClick={() => void start()}
            >
              {active ? 'Segmentation running…' : 'Start segmentation'}
            </button>
          </span>
        )
      }
    >
      {loadError && (
        <p className="text-error small" role="alert">
          {loadError}
        </p>
      )}
      {error && (
        <p className="text-error small" role="alert">
          {error}
        </p>
      )}
      {!r ? (
        <EmptyState title="No segmentation yet" testId="segments-empty">
          {canStart
            ? 'Start one: it runs between training rounds and asks every connected bank for aggregates only.'
            : 'An admin can start one; it runs between training rounds.'}
        </EmptyState>
      ) : (
        <>
          <p className="small muted" data-testid="segments-summary">
            Job {latest!.id} · {formatDateTime(latest!.endedAt ?? latest!.requestedAt)} · k = {r.k} · {r.iterations}{' '}
            iteration{r.iterations === 1 ? '' : 's'} {r.converged ? '(converged)' : '(round budget)'} · ε spent (max per
            bank):{' '}
            <strong data-testid="segments-epsilon">
              {r.privacy?.maxEpsilon ? r.privacy.maxEpsilon.toFixed(2) : '0 (no noise: exact statistics)'}
            </strong>
          </p>
          {r.notes?.map((n) => (
            <p key={n} className="small text-error">
              {n}
            </p>
          ))}
          <div className="table-wrap">
            <table className="table" data-testid="segments-table">
              <thead>
                <tr>
                  <th>Segment</th>
                  {features.map((f) => (
                    <th key={f} className="num">
                      {FEATURE_LABELS[f] ?? f}
                    </th>
                  ))}
                  <th className="num">Customers (noised)</th>
                  <th className="num">Fraud rate</th>
                </tr>
              </thead>
              <tbody>
                {(r.centres ?? []).map((c, j) => (
                  <tr key={j} data-testid="segment-row">
                    <td>{r.names?.[j] ?? `Segment ${j + 1}`}</td>
                    {features.map((f, t) => (
                      <td key={f} className="num">
                        {formatValue(f, c[t]!)}
                      </td>
                    ))}
                    <td className="num">{Math.round(r.sizes?.[j] ?? 0).toLocaleString('en')}</td>
                    <td className="num">
                      {typeof r.fraudRate?.[j] === 'number' ? `${(r.fraudRate[j]! * 100).toFixed(1)}%` : '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {r.declined && r.declined.length > 0 && (
            <p className="small muted" data-testid="segments-declined">
              Declined: {r.declined.map((d) => `${d.bank} (${d.stage}: ${d.reason})`).join('; ')}
            </p>
          )}
        </>
      )}
      {cal?.threshold !== undefined && (
        <p className="small muted" data-testid="consortium-threshold">
          Consortium anomaly threshold (job {calibration!.id}): accounts scoring above{' '}
          <strong>{cal.threshold.toFixed(4)}</strong> are the top {((cal.contamination ?? 0) * 100).toFixed(1)} % across{' '}
          {cal.banks?.length ?? 0} banks; each bank&apos;s console offers it as its cut-off.
        </p>
      )}
      {segmentations.length > 0 && (
        <ul className="small muted" data-testid="segments-jobs">
          {segmentations.slice(0, 5).map((j) => (
            <li key={j.id}>
              Job {j.id} <Badge tone={STATUS_TONE[j.status]}>{j.status}</Badge> {formatDateTime(j.requestedAt)}
              {j.failureReason ? ` — ${j.failureReason}` : ''}
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
