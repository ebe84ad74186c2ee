/**
 * One bank's trust view (opened from the banks table): how its updates compared with each
 * round's aggregate (norm, distance, cosine similarity; GET /api/banks/:id), rounds where it
 * stood out marked red, a one-line reason, and its quarantine state with the admin's lift.
 */
import { useCallback, useEffect, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Badge } from '../components/Badge';
import { getJson, postJson } from '../lib/api';
import { formatDecimal } from '../lib/format';
import { trustRows, trustSummary, type TrustRow } from '../lib/trust';
import type { BankDetailView } from '../lib/types';

const HISTORY = 50;

/** A round's dot: red and larger when the update stood out that round. */
function OutlierDot(props: { cx?: number; cy?: number; payload?: TrustRow; stroke?: string }) {
  const { cx, cy, payload, stroke } = props;
  if (cx === undefined || cy === undefined || !Number.isFinite(cx) || !Number.isFinite(cy)) return null;
  const out = payload?.outlier !== null && payload?.outlier !== undefined;
  return (
    <circle
      cx={cx}
      cy={cy}
      r={out ? 5 : 2.5}
      fill={out ? '#dc2626' : (stroke ?? '#1f77b4')}
      stroke="none"
      data-outlier={out ? 'true' : undefined}
    />
  );
}

export function BankTrust({
  bankId,
  token,
  canManage,
  lastRoundId,
}: {
  bankId: string;
  token: string | null;
  canManage: boolean;
  /** The newest finished round: the panel reloads when it changes (a round moves the history and the quarantine). */
  lastRoundId: number | null;
}) {
  const [detail, setDetail] = useState<BankDetailView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setDetail(await getJson<BankDetailView>(`/api/banks/${encodeURIComponent(bankId)}?limit=${HISTORY}`, token));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, [bankId, token]);
  useEffect(() => {
    void load();
  }, [load, lastRoundId]);

  const lift = async () => {
    setBusy(true);
    try {
      await postJson(`/api/banks/${encodeURIComponent(bankId)}/quarantine/lift`, token ?? '');
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (error)
    return (
      <p className="text-error" data-testid="bank-trust-error">
        {error}
      </p>
    );
  if (!detail) return <p className="muted">Loading the bank's history…</p>;
  const rows = trustRows(detail.history);
  const summary = trustSummary(detail);
  const q = detail.quarantine;
  return (
    <div className="bank-trust" data-testid="bank-trust" data-bank-id={bankId}>
      <p data-testid="bank-trust-reason">
        <Badge tone={summary.tone}>
          {summary.tone === 'ok' ? 'trusted' : summary.tone === 'warn' ? 'watch' : 'excluded'}
        </Badge>{' '}
        {summary.text}
      </p>
      <p className="cell-sub" data-testid="bank-quarantine" data-quarantined={String(q.quarantined)}>
        {q.quarantined ? (
          <>
            <Badge tone="error">quarantined</Badge> not selected until an admin lifts it.{' '}
            {canManage && (
              <button
                className="btn btn-danger"
                data-testid="bank-quarantine-lift"
                disabled={busy}
                onClick={() => void lift()}
              >
                Lift quarantine
              </button>
            )}
          </>
        ) : q.afterExclusions === null ? (
          'Automatic quarantine is off (rule quarantineAfterExclusions).'
        ) : (
          `Quarantined after ${q.afterExclusions} consecutive excluded rounds; ${q.streak} so far.`
        )}
        {q.lifted && ` Last lifted by ${q.lifted.by} after round ${q.lifted.afterRound}.`}
      </p>
      {rows.length > 0 && (
        <div className="chart" data-testid="bank-trust-chart" data-points={rows.length}>
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={rows} margin={{ top: 8, right: 8, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#e5e7eb" vertical={false} />
              <XAxis
                dataKey="round"
                type="number"
                domain={['dataMin', 'dataMax']}
                allowDecimals={false}
                tickLine={false}
              />
              <YAxis yAxisId="size" width={52} tickLine={false} tickFormatter={(v: number) => formatDecimal(v, 2)} />
              <YAxis yAxisId="cos" orientation="right" domain={[-1, 1]} width={36} tickLine={false} />
              <Tooltip
                labelFormatter={(l) => `Round ${l}`}
                formatter={(v, name, item) => {
                  const row = (item as { payload?: TrustRow }).payload;
                  const text = formatDecimal(Number(v), 3);
                  return [row?.outlier ? `${text} — ${row.outlier}` : text, name];
                }}
              />
              <Legend verticalAlign="top" height={22} iconType="plainline" />
              <Line
                yAxisId="size"
                dataKey="norm"
                name="update norm"
                stroke="#1f77b4"
                dot={<OutlierDot />}
                connectNulls
                isAnimationActive={false}
              />
              <Line
                yAxisId="size"
                dataKey="distance"
                name="distance to aggregate"
                stroke="#ff7f0e"
                dot={<OutlierDot />}
                connectNulls
                isAnimationActive={false}
              />
              <Line
                yAxisId="cos"
                dataKey="cosine"
                name="cosine to aggregate"
                stroke="#2ca02c"
                dot={<OutlierDot />}
                connectNulls
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </div>
  );
}
