/** Banks: connection status, last seen, data size, participation, update size, rejections. */
import { Badge } from '../components/Badge';
import { EmptyState, Panel } from '../components/Panel';
import { formatAgo, formatBytes, formatDateTime, formatNumber } from '../lib/format';
import type { BankView, RoundRecord } from '../lib/types';

function StatusCell({ bank }: { bank: BankView }) {
  if (bank.revoked) return <Badge tone="error">revoked</Badge>;
  return bank.connected ? <Badge tone="ok">connected</Badge> : <Badge tone="muted">offline</Badge>;
}

/** The bank's latest accepted update size from the round history (the live figure is lost when the aggregator restarts). */
function lastUpdateFromRounds(rounds: RoundRecord[], bankId: string): number | null {
  for (let i = rounds.length - 1; i >= 0; i--) {
    const b = rounds[i]!.banks[bankId];
    if (b?.updateBytes && !b.rejected) return b.updateBytes;
  }
  return null;
}

export function BanksTable({
  banks,
  rounds,
  now,
  minBanks,
}: {
  banks: BankView[];
  rounds: RoundRecord[];
  now: number;
  minBanks: number;
}) {
  const connected = banks.filter((b) => b.connected).length;
  return (
    <Panel
      id="banks"
      title="Banks"
      testId="banks"
      subtitle={
        banks.length
          ? `${connected} of ${banks.length} registered banks connected${minBanks ? `; rounds need ${minBanks}` : ''}.`
          : undefined
      }
    >
      {banks.length === 0 ? (
        <EmptyState title="No banks registered yet" testId="banks-empty">
          An admin registers each bank with POST /api/banks; the bank then runs the FinSecure client with the token it
          was given.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="banks-table">
            <thead>
              <tr>
                <th>Bank</th>
                <th>Status</th>
                <th>Last seen</th>
                <th className="num">Examples (train / test)</th>
                <th className="num">Rounds</th>
                <th className="num">Last update</th>
                <th className="num">ε spent</th>
                <th>Rejected updates</th>
              </tr>
            </thead>
            <tbody>
              {banks.map((b) => (
                <tr key={b.id} data-testid="bank-row" data-bank-id={b.id} data-connected={String(b.connected)}>
                  <td>
                    <div className="cell-main">{b.name}</div>
                    {b.name !== b.id && <div className="cell-sub mono">{b.id}</div>}
                    {b.backend && <div className="cell-sub">TF.js {b.backend}</div>}
                  </td>
                  <td>
                    <StatusCell bank={b} />
                  </td>
                  <td title={formatDateTime(b.lastSeenAt)}>{formatAgo(b.lastSeenAt, now)}</td>
                  <td className="num">
                    {formatNumber(b.numExamples)} <span className="muted">/ {formatNumber(b.numTestExamples)}</span>
                  </td>
                  <td className="num">{b.roundsParticipated}</td>
                  <td className="num">{formatBytes(b.lastUpdateBytes ?? lastUpdateFromRounds(rounds, b.id))}</td>
                  <td className="num">
                    {b.epsilon !== null && b.epsilon !== undefined && b.epsilon > 0 ? b.epsilon.toFixed(2) : '—'}
                  </td>
                  <td>
                    {b.rejections.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      <details className="rejections">
                        <summary className="text-error">{b.rejections.length} rejected</summary>
                        <ul>
                          {b.rejections
                            .slice(-10)
                            .reverse()
                            .map((r, i) => (
                              <li key={`${r.roundId}-${i}`}>
                                round {r.roundId}: {r.reason} <span className="muted">({formatDateTime(r.at)})</span>
                              </li>
                            ))}
                        </ul>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
