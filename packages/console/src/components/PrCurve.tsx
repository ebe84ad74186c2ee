/** Precision against recall on the bank's validation split, with the chosen operating point. */
import { CartesianGrid, Line, LineChart, ReferenceDot, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export function PrCurve({
  points,
  chosen,
}: {
  points: { recall: number; precision: number }[];
  chosen: { recall: number; precision: number } | null;
}) {
  return (
    <div style={{ width: '100%', height: 260 }} data-testid="pr-curve">
      <ResponsiveContainer>
        <LineChart data={points} margin={{ left: 8, right: 24, top: 8, bottom: 16 }}>
          <CartesianGrid stroke="#e5e7eb" />
          <XAxis
            type="number"
            dataKey="recall"
            domain={[0, 1]}
            label={{ value: 'recall', position: 'insideBottom', offset: -2 }}
          />
          <YAxis type="number" domain={[0, 1]} label={{ value: 'precision', angle: -90, position: 'insideLeft' }} />
          <Tooltip formatter={(v) => Number(v).toFixed(3)} />
          <Line type="stepAfter" dataKey="precision" dot={false} stroke="#0f766e" isAnimationActive={false} />
          {chosen && <ReferenceDot x={chosen.recall} y={chosen.precision} r={6} fill="#dc2626" stroke="white" />}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
