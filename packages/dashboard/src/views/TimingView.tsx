/** Round timing: where each round's time went, stacked per phase. */
import { useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { EmptyState, Panel } from '../components/Panel';
import { formatMs } from '../lib/format';
import { isFinished } from '../lib/rounds';
import type { RoundRecord } from '../lib/types';

export function TimingView({ rounds }: { rounds: RoundRecord[] }) {
  const rows = useMemo(
    () =>
      rounds.filter(isFinished).map((r) => ({
        round: r.id,
        trainingMs: r.durations.trainingMs ?? 0,
        aggregationMs: r.durations.aggregationMs ?? 0,
        evaluationMs: r.durations.evaluationMs ?? 0,
        totalMs: r.durations.totalMs ?? 0,
      })),
    [rounds],
  );
  const avgTotal = rows.length ? rows.reduce((n, r) => n + r.totalMs, 0) / rows.length : 0;

  return (
    <Panel
      id="timing"
      title="Round timing"
      testId="timing"
      subtitle={
        rows.length
          ? `Average round: ${formatMs(avgTotal)}. "Training" is the wait for the selected banks' updates; it ends when the quorum and the grace period are through, or at the timeout.`
          : undefined
      }
    >
      {rows.length === 0 ? (
        <EmptyState title="No rounds yet" testId="timing-empty">
          The duration of each phase appears here once rounds finish.
        </EmptyState>
      ) : (
        <div className="chart" data-testid="timing-chart" data-points={rows.length}>
          <ResponsiveContainer width="100%" height={220}>
            <BarChart data={rows} maxBarSize={56} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
              <CartesianGrid stroke="#e5e7eb" vertical={false} />
              <XAxis dataKey="round" tickLine={false} />
              <YAxis tickFormatter={(v: number) => formatMs(v)} width={64} tickLine={false} />
              <Tooltip formatter={(v) => formatMs(Number(v))} labelFormatter={(l) => `Round ${l}`} />
              <Legend verticalAlign="top" height={24} itemSorter={null} />
              <Bar
                dataKey="trainingMs"
                stackId="t"
                name="Training (waiting for bank updates)"
                fill="#6366f1"
                isAnimationActive={false}
              />
              <Bar dataKey="aggregationMs" stackId="t" name="Aggregation" fill="#f59e0b" isAnimationActive={false} />
              <Bar dataKey="evaluationMs" stackId="t" name="Evaluation" fill="#10b981" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </Panel>
  );
}
