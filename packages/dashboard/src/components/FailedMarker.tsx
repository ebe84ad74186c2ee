/**
 * Marks a failed round on a chart (a recharts ReferenceLine label) with the reason as an
 * SVG tooltip, and lists failed rounds below the charts.
 */
import type { RoundRecord } from '../lib/types';

interface ViewBox {
  x?: number;
  y?: number;
}

export function failedMarkerLabel(round: number, reason: string) {
  const Label = (props: { viewBox?: ViewBox }) => {
    const x = props.viewBox?.x ?? 0;
    const y = props.viewBox?.y ?? 0;
    return (
      <g className="failed-marker" data-testid="failed-round-marker" data-round={round}>
        <title>{`Round ${round} failed: ${reason}`}</title>
        <circle cx={x} cy={y + 9} r={8} />
        <text x={x} y={y + 13} textAnchor="middle">
          ✕
        </text>
      </g>
    );
  };
  return Label;
}

export function FailedRoundsList({ rounds }: { rounds: RoundRecord[] }) {
  const failed = rounds.filter((r) => r.status === 'failed');
  if (failed.length === 0) return null;
  const shown = failed.slice(-5).reverse();
  return (
    <ul className="failed-list" data-testid="failed-rounds">
      {shown.map((r) => (
        <li key={r.id} data-testid="failed-round">
          <span className="failed-dot" aria-hidden>
            ✕
          </span>
          <strong>Round {r.id} failed:</strong> {r.failureReason ?? 'no reason recorded'}
        </li>
      ))}
      {failed.length > shown.length && (
        <li className="muted small">…and {failed.length - shown.length} earlier failed rounds (see the round list).</li>
      )}
    </ul>
  );
}
