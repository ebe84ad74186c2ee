/**
 * A round's workflow, stage by stage: for each stage (advertise keys, share keys, masked fit, ...,
 * the evaluation stages) how many banks it asked and heard, how long it took, and who dropped out of it and why
 * (RoundRecord.stages). Dropped banks are listed in a <details> row that opens on click, and their
 * reasons are also on the count's tooltip, so a round with no dropouts stays one compact line per stage.
 * A round committed without federated metrics (its secure evaluation could not finish) says why.
 */
import { Badge } from '../components/Badge';
import { formatMs } from '../lib/format';
import type { RoundRecord } from '../lib/types';

/** Stage names as the aggregator stores them ("masked_fit") in words ("masked fit"). */
export function stageLabel(name: string): string {
  return name.replace(/_/g, ' ');
}

/** Whether the round ran the secure-aggregation workflow (its config snapshot's rules). */
export function isSecureRound(round: RoundRecord): boolean {
  const rules = round.config.rules as Record<string, unknown> | undefined;
  return rules?.secureAggregation === true;
}

export function SecureAggregationBadge({ round }: { round: RoundRecord }) {
  return isSecureRound(round) ? (
    <span data-testid="secure-aggregation-on">
      <Badge tone="ok" title="Updates were masked (SecAgg+): the aggregator only saw their sum">
        secure aggregation
      </Badge>
    </span>
  ) : (
    <span data-testid="secure-aggregation-off">
      <Badge tone="muted" title="Updates arrived in the clear">
        plaintext
      </Badge>
    </span>
  );
}

export function RoundStages({ round }: { round: RoundRecord }) {
  const stages = round.stages ?? [];
  if (stages.length === 0) return null;
  const total = stages.reduce((s, x) => s + x.ms, 0);
  return (
    <div className="table-wrap">
      <table className="table table-compact" data-testid="round-stages">
        <thead>
          <tr>
            <th>Stage</th>
            <th className="num">Answered</th>
            <th className="num">Time</th>
            <th>Share of round</th>
            <th>Dropped</th>
          </tr>
        </thead>
        <tbody>
          {stages.map((s, i) => {
            const dropped = Object.entries(s.dropped).sort(([a], [b]) => a.localeCompare(b));
            const tooltip = dropped.map(([bank, reason]) => `${bank}: ${reason}`).join('\n');
            return (
              <tr key={`${s.name}-${i}`} data-testid="stage-row" data-stage={s.name}>
                <td className="nowrap">{stageLabel(s.name)}</td>
                <td className="num">
                  {s.answered} / {s.asked}
                </td>
                <td className="num" data-testid="stage-ms">
                  {formatMs(s.ms)}
                </td>
                <td>
                  <span className="meter" aria-hidden>
                    <span
                      className="meter-fill"
                      style={{ width: `${total > 0 ? Math.min(100, (100 * s.ms) / total) : 0}%` }}
                    />
                  </span>
                </td>
                <td data-testid="stage-dropped">
                  {dropped.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    <details>
                      <summary className="text-error" title={tooltip}>
                        {dropped.length} dropped
                      </summary>
                      <ul className="small">
                        {dropped.map(([bank, reason]) => (
                          <li key={bank} data-testid="stage-dropped-bank" data-bank-id={bank}>
                            <strong>{bank}</strong>: {reason}
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {stages
        .filter((s) => s.note)
        .map((s, i) => (
          <p key={i} className="small text-error" data-testid="stage-note">
            No federated metrics for this round: {s.note}
          </p>
        ))}
    </div>
  );
}
