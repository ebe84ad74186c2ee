/**
 * Why a transaction was flagged: the largest feature attributions as bars, in log-odds of
 * fraud (right, red: towards fraud; left, blue: away from it), and the top reasons in words.
 */
import { Bar, BarChart, Cell, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Reason } from '../lib/types';

export function ReasonsChart({
  reasons,
  bars,
  method,
}: {
  reasons: Reason[];
  bars: { feature: string; attribution: number }[];
  method: string | null;
}) {
  if (!bars.length) {
    return (
      <p className="muted" data-testid="reasons-empty">
        No reasons were computed for this alert.
      </p>
    );
  }
  return (
    <div data-testid="reasons">
      <ul className="reasons-text">
        {reasons.map((r) => (
          <li key={r.feature}>{r.text}</li>
        ))}
      </ul>
      <div style={{ width: '100%', height: 40 + 26 * bars.length }} data-testid="reasons-chart">
        <ResponsiveContainer>
          <BarChart data={bars} layout="vertical" margin={{ left: 8, right: 24, top: 8 }}>
            <XAxis type="number" tickFormatter={(v: number) => v.toFixed(1)} />
            <YAxis type="category" dataKey="feature" width={170} />
            <ReferenceLine x={0} stroke="#94a3b8" />
            <Tooltip formatter={(v) => [Number(v).toFixed(3), 'log-odds']} />
            <Bar dataKey="attribution" isAnimationActive={false}>
              {bars.map((d) => (
                <Cell key={d.feature} fill={d.attribution >= 0 ? '#dc2626' : '#2563eb'} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <p className="small muted">
        Contributions to the score in log-odds of fraud{method ? ` (${method.replace('-', ' ')})` : ''}; red raises it,
        blue lowers it.
      </p>
    </div>
  );
}
