/** Rounds, newest first. Click one for its detail. */
import { RoundStatusBadge } from '../components/Badge';
import { EmptyState, Panel } from '../components/Panel';
import { formatBytes, formatMs, formatPct, formatTime } from '../lib/format';
import { bytesOf } from '../lib/rounds';
import type { RoundRecord, StatusView } from '../lib/types';

const SHOWN = 50;

function emptyReason(status: StatusView | null): string {
  if (!status) return '';
  if (status.state === 'idle') return 'Training is idle: an admin starts it from the Overview.';
  if (status.state === 'paused' || status.state === 'stopped') return `Training is ${status.state}.`;
  return `The first round starts when enough banks are connected (${status.connectedBanks} connected now).`;
}

export function RoundsList({
  rounds,
  status,
  selected,
  onSelect,
}: {
  rounds: RoundRecord[];
  status: StatusView | null;
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  const list = rounds.slice(-SHOWN).reverse();
  return (
    <Panel
      id="rounds"
      title="Rounds"
      testId="rounds"
      subtitle={rounds.length ? 'Newest first. Select a round for its participants and weights.' : undefined}
    >
      {list.length === 0 ? (
        <EmptyState title="No rounds yet" testId="rounds-empty">
          {emptyReason(status)}
        </EmptyState>
      ) : (
        <div className="table-wrap table-scroll">
          <table className="table table-hover" data-testid="rounds-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Status</th>
                <th>Started</th>
                <th className="num">Banks</th>
                <th className="num">F1</th>
                <th className="num">AUPRC</th>
                <th className="num">Bytes</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => {
                const { up, down } = bytesOf(r);
                return (
                  <tr
                    key={r.id}
                    data-testid="round-row"
                    data-round-id={r.id}
                    data-status={r.status}
                    className={`${selected === r.id ? 'selected' : ''} ${r.status === 'failed' ? 'row-failed' : ''}`}
                    onClick={() => onSelect(r.id)}
                    onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect(r.id)}
                    tabIndex={0}
                    aria-selected={selected === r.id}
                  >
                    <td className="mono">{r.id}</td>
                    <td>
                      <RoundStatusBadge status={r.status} />
                      {r.failureReason && (
                        <div className="cell-sub text-error reason" title={r.failureReason}>
                          {r.failureReason}
                        </div>
                      )}
                    </td>
                    <td>{formatTime(r.startedAt)}</td>
                    <td className="num">
                      {r.participants.length}/{r.selected.length}
                    </td>
                    <td className="num">{formatPct(r.metrics?.f1)}</td>
                    <td className="num">{formatPct(r.metrics?.auprc)}</td>
                    <td className="num">{formatBytes(up + down)}</td>
                    <td className="num">
                      {r.endedAt ? formatMs(r.endedAt - r.startedAt) : <span className="muted">running</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
