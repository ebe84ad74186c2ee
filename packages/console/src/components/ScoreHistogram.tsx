/** Distribution of anomaly scores: flagged rows (above the threshold) in red, the others in teal. */
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { HistogramBin } from '../lib/accounts';

export function ScoreHistogram({ bins, threshold }: { bins: HistogramBin[]; threshold: number | null }) {
  const data = bins.map((b) => ({
    label: b.from.toFixed(3),
    range: `${b.from.toFixed(4)} – ${b.to.toFixed(4)}`,
    flagged: b.flagged,
    others: b.count - b.flagged,
  }));
  // The bin holding the threshold, where the reference line is drawn.
  const at = threshold === null ? -1 : bins.findIndex((b) => threshold >= b.from && threshold <= b.to);
  return (
    <div style={{ width: '100%', height: 240 }} data-testid="score-histogram">
      <ResponsiveContainer>
        <BarChart data={data} margin={{ left: 8, right: 24, top: 8, bottom: 16 }} barCategoryGap={1}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis dataKey="label" label={{ value: 'anomaly score', position: 'insideBottom', offset: -6 }} />
          <YAxis allowDecimals={false} label={{ value: 'rows', angle: -90, position: 'insideLeft' }} />
          <Tooltip labelFormatter={(_l, p) => (p?.[0]?.payload as { range?: string } | undefined)?.range ?? ''} />
          <Legend verticalAlign="top" align="right" height={24} />
          <Bar dataKey="others" name="not flagged" stackId="s" fill="#0f766e" isAnimationActive={false} />
          <Bar dataKey="flagged" name="flagged" stackId="s" fill="#dc2626" isAnimationActive={false} />
          {at >= 0 && (
            <ReferenceLine
              x={data[at]!.label}
              stroke="#111827"
              strokeDasharray="4 3"
              label={{
                value: 'threshold',
                position: at > data.length / 2 ? 'insideTopRight' : 'insideTopLeft',
                offset: 8,
              }}
            />
          )}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
