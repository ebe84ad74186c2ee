/**
 * Model quality per round: global precision, recall, F1 and AUPRC on one chart, per-bank
 * lines (the new global model evaluated on each bank's own test split) that can be
 * toggled, a loss chart, and failed rounds marked with their reason.
 */
import { useMemo, useState } from 'react';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { BankToggles, toggleIn } from '../components/BankToggles';
import { FailedRoundsList, failedMarkerLabel } from '../components/FailedMarker';
import { EmptyState, Panel } from '../components/Panel';
import { formatDecimal, formatPct } from '../lib/format';
import { bankColor, banksInRounds, isFinished } from '../lib/rounds';
import type { BankRoundStats, RoundRecord } from '../lib/types';

const GLOBAL_METRICS = [
  { key: 'precision', label: 'Precision', color: '#2563eb' },
  { key: 'recall', label: 'Recall', color: '#16a34a' },
  { key: 'f1', label: 'F1', color: '#9333ea' },
  { key: 'auprc', label: 'AUPRC', color: '#ea580c' },
] as const;

const BANK_METRICS = ['f1', 'precision', 'recall', 'auprc'] as const;
type BankMetric = (typeof BANK_METRICS)[number];

interface Row {
  round: number;
  failed: boolean;
  precision?: number;
  recall?: number;
  f1?: number;
  auprc?: number;
  loss?: number;
  trainLoss?: number;
  banks: Record<string, BankRoundStats>;
}

function toRow(r: RoundRecord): Row {
  const m = r.status === 'committed' ? (r.metrics ?? {}) : {};
  return {
    round: r.id,
    failed: r.status === 'failed',
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    auprc: m.auprc,
    loss: m.loss,
    trainLoss: m.trainLoss,
    banks: r.banks,
  };
}

export function QualityView({ rounds }: { rounds: RoundRecord[] }) {
  const finished = useMemo(() => rounds.filter(isFinished), [rounds]);
  const rows = useMemo(() => finished.map(toRow), [finished]);
  const bankIds = useMemo(() => banksInRounds(finished), [finished]);
  const [shown, setShown] = useState<Set<string>>(new Set());
  const [bankMetric, setBankMetric] = useState<BankMetric>('f1');
  const committed = rows.filter((r) => !r.failed).length;
  const failed = finished.filter((r) => r.status === 'failed');
  const latest = [...rows].reverse().find((r) => !r.failed);

  return (
    <Panel
      id="quality"
      title="Model quality"
      testId="quality"
      subtitle={
        latest
          ? `Global model after round ${latest.round}: F1 ${formatPct(latest.f1)}, AUPRC ${formatPct(latest.auprc)}, precision ${formatPct(latest.precision)}, recall ${formatPct(latest.recall)}.`
          : 'Global metrics from the evaluation counts summed over all banks.'
      }
    >
      {rows.length === 0 ? (
        <EmptyState title="No rounds yet" testId="quality-empty">
          Quality appears here after the first round is evaluated on the banks' held-out data.
        </EmptyState>
      ) : (
        <>
          <div className="chart" data-testid="quality-chart" data-points={committed}>
            <ResponsiveContainer width="100%" height={280}>
              <LineChart data={rows} margin={{ top: 22, right: 16, bottom: 4, left: 0 }}>
                <CartesianGrid stroke="#e5e7eb" vertical={false} />
                <XAxis
                  dataKey="round"
                  type="number"
                  domain={['dataMin', 'dataMax']}
                  allowDecimals={false}
                  padding={{ left: 14, right: 14 }}
                  tickLine={false}
                  label={{ value: 'round', position: 'insideBottomRight', offset: -2, fontSize: 11 }}
                />
                <YAxis
                  domain={[0, 1]}
                  tickFormatter={(v: number) => `${Math.round(v * 100)}%`}
                  width={44}
                  tickLine={false}
                />
                <Tooltip formatter={(v) => formatPct(Number(v))} labelFormatter={(l) => `Round ${l}`} />
                <Legend verticalAlign="top" height={24} itemSorter={null} iconType="plainline" />
                {failed.map((r) => (
                  <ReferenceLine
                    key={`f${r.id}`}
                    x={r.id}
                    stroke="#dc2626"
                    strokeDasharray="4 3"
                    label={failedMarkerLabel(r.id, r.failureReason ?? 'no reason recorded')}
                  />
                ))}
                {GLOBAL_METRICS.map((m) => (
                  <Line
                    key={m.key}
                    type="monotone"
                    dataKey={m.key}
                    name={m.label}
                    stroke={m.color}
                    strokeWidth={2}
                    dot={{ r: 3 }}
                    connectNulls
                    isAnimationActive={false}
                  />
                ))}
                {bankIds
                  .filter((id) => shown.has(id))
                  .map((id) => (
                    <Line
                      key={`bank-${id}`}
                      type="monotone"
                      dataKey={(row: Row) => row.banks[id]?.metrics?.[bankMetric] ?? null}
                      name={`${id} ${bankMetric.toUpperCase()}`}
                      stroke={bankColor(bankIds, id)}
                      strokeDasharray="5 4"
                      strokeWidth={1.5}
                      dot={{ r: 2 }}
                      connectNulls
                      isAnimationActive={false}
                    />
                  ))}
              </LineChart>
            </ResponsiveContainer>
          </div>
          <div className="chart-tools">
            <BankToggles
              ids={bankIds}
              active={shown}
              onToggle={(id) => setShown((s) => toggleIn(s, id))}
              testId="quality-bank-toggles"
            />
            {shown.size > 0 && (
              <label className="small">
                bank metric{' '}
                <select value={bankMetric} onChange={(e) => setBankMetric(e.target.value as BankMetric)}>
                  {BANK_METRICS.map((m) => (
                    <option key={m} value={m}>
                      {m.toUpperCase()}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </div>
          <h3 className="chart-title">Loss</h3>
          <div className="chart" data-testid="loss-chart">
            <ResponsiveContainer width="100%" height={180}>
              <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
                <CartesianGrid stroke="#e5e7eb" vertical={false} />
                <XAxis
                  dataKey="round"
                  type="number"
                  domain={['dataMin', 'dataMax']}
                  allowDecimals={false}
                  padding={{ left: 14, right: 14 }}
                  tickLine={false}
                />
                <YAxis width={44} tickLine={false} tickFormatter={(v: number) => formatDecimal(v, 2)} />
                <Tooltip formatter={(v) => formatDecimal(Number(v), 4)} labelFormatter={(l) => `Round ${l}`} />
                <Legend verticalAlign="top" height={24} itemSorter={null} iconType="plainline" />
                {failed.map((r) => (
                  <ReferenceLine key={`f${r.id}`} x={r.id} stroke="#dc2626" strokeDasharray="4 3" />
                ))}
                <Line
                  type="monotone"
                  dataKey="loss"
                  name="Evaluation loss (global)"
                  stroke="#0f766e"
                  strokeWidth={2}
                  dot={{ r: 3 }}
                  connectNulls
                  isAnimationActive={false}
                />
                <Line
                  type="monotone"
                  dataKey="trainLoss"
                  name="Training loss (mean of banks)"
                  stroke="#94a3b8"
                  strokeWidth={2}
                  dot={{ r: 2 }}
                  connectNulls
                  isAnimationActive={false}
                />
                {bankIds
                  .filter((id) => shown.has(id))
                  .map((id) => (
                    <Line
                      key={`bank-loss-${id}`}
                      type="monotone"
                      dataKey={(row: Row) => row.banks[id]?.loss ?? null}
                      name={`${id} training loss`}
                      stroke={bankColor(bankIds, id)}
                      strokeDasharray="5 4"
                      dot={false}
                      connectNulls
                      isAnimationActive={false}
                    />
                  ))}
              </LineChart>
            </ResponsiveContainer>
          </div>
          <FailedRoundsList rounds={finished} />
        </>
      )}
    </Panel>
  );
}
