/** Banks: connection status, last seen, data size, participation, update size, rejections, trust. */
import { Fragment, useState } from 'react';
import { Badge } from '../components/Badge';
import { EmptyState, Panel } from '../components/Panel';
import { formatAgo, formatBytes, formatDateTime, formatEpsilon, formatNumber } from '../lib/format';
import type { BankView, RoundRecord } from '../lib/types';
import { BankTrust } from './BankTrust';

function StatusCell({ bank }: { bank: BankView }) {
  if (bank.revoked) return <Badge tone="error">revoked</Badge>;
  if (bank.connected) return <Badge tone="ok">connected</Badge>;
  if (bank.lastRefusal)
    return (
      <span data-testid="bank-refused">
        <Badge tone="error">refused</Badge>
        <div className="cell-sub text-error">{bank.lastRefusal.reason}</div>
      </span>
    );
  return <Badge tone="muted">offline</Badge>;
}

/** Does the bank's data look like the consortium's? A warning says why, in words. */
function HealthCell({ bank }: { bank: BankView }) {
  const h = bank.health;
  if (!h) return <span className="muted">—</span>;
  if (h.status === 'ok') return <Badge tone="ok">ok</Badge>;
  return (
    <details className="rejections" data-testid="bank-health-warning">
      <summary>
        <Badge tone="error">check data</Badge>
      </summary>
      <ul>
        {h.reasons.map((r) => (
          <li key={r}>{r}</li>
        ))}
      </ul>
    </details>
  );
}

/** The bank's latest accepted update size from the round history (the live figure is lost when the aggregator restarts). */
function lastUpdateFromRounds(rounds: RoundRecord[], bankId: string): number | null {
  for (let i = rounds.length - 1; i >= 0; i--) {
    const b = rounds[i]!.banks[bankId];
    if (b?.updateBytes && !b.rejected) return b.updateBytes;
  }
  return null;
}

type Rejection = BankView['rejections'][number];

/**
 * Rejected or missing updates: the bank's live list plus what the round history records
 * (declines and missed deadlines are stored with the round but not always in the live list).
 */
function rejectionsOf(bank: BankView, rounds: RoundRecord[]): Rejection[] {
  const seen = new Set(bank.rejections.map((r) => `${r.roundId}\u0000${r.reason}`));
  const all = [...bank.rejections];
  for (const r of rounds) {
    const reason = r.banks[bank.id]?.rejected;
    if (reason && !seen.has(`${r.id}\u0000${reason}`)) {
      seen.add(`${r.id}\u0000${reason}`);
      all.push({ roundId: r.id, reason, at: r.endedAt ?? r.startedAt });
    }
  }
  return all.sort((a, b) => a.roundId - b.roundId);
}

/** Its reputation in the latest round that has one: the badge of the Trust column. */
function latestReputation(rounds: RoundRecord[], bankId: string) {
  for (let i = rounds.length - 1; i >= 0; i--) {
    const r = rounds[i]!.banks[bankId]?.reputation;
    if (r) return r;
  }
  return null;
}

function BankRow({
  bank,
  rounds,
  now,
  open,
  onToggle,
}: {
  bank: BankView;
  rounds: RoundRecord[];
  now: number;
  open: boolean;
  onToggle: () => void;
}) {
  const rejections = rejectionsOf(bank, rounds);
  const rep = latestReputation(rounds, bank.id);
  return (
    <tr data-testid="bank-row" data-bank-id={bank.id} data-connected={String(bank.connected)}>
      <td>
        <div className="cell-main">{bank.name}</div>
        {bank.name !== bank.id && <div className="cell-sub mono">{bank.id}</div>}
        {bank.backend && <div className="cell-sub">TF.js {bank.backend}</div>}
      </td>
      <td>
        <StatusCell bank={bank} />
      </td>
      <td>
        <HealthCell bank={bank} />
      </td>
      {/* A connected bank is heard from with every heartbeat, which is not published: "now" is true. */}
      <td title={formatDateTime(bank.lastSeenAt)}>{bank.connected ? 'now' : formatAgo(bank.lastSeenAt, now)}</td>
      <td className="num">
        {formatNumber(bank.numExamples)} <span className="muted">/ {formatNumber(bank.numTestExamples)}</span>
      </td>
      <td className="num">{bank.roundsParticipated}</td>
      <td className="num">{formatBytes(bank.lastUpdateBytes ?? lastUpdateFromRounds(rounds, bank.id))}</td>
      <td className="num">
        {bank.epsilon === 'Infinity' || (typeof bank.epsilon === 'number' && bank.epsilon > 0)
          ? formatEpsilon(bank.epsilon)
          : '—'}
      </td>
      <td>
        {rejections.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <details className="rejections">
            <summary className="text-error">{rejections.length} rejected or missing</summary>
            <ul>
              {rejections
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
      <td>
        <button
          className="btn btn-ghost"
          data-testid="bank-trust-toggle"
          aria-expanded={open}
          title={rep?.outlier ?? undefined}
          onClick={onToggle}
        >
          {rep?.outlier ? <Badge tone={rep.excluded ? 'error' : 'warn'}>outlier</Badge> : 'trust'} {open ? '▴' : '▾'}
        </button>
      </td>
    </tr>
  );
}

export function BanksTable({
  banks,
  rounds,
  now,
  minBanks,
  token = null,
  canManage = false,
}: {
  banks: BankView[];
  rounds: RoundRecord[];
  now: number;
  minBanks: number;
  /** For the trust view's own requests (GET /api/banks/:id, the quarantine lift). */
  token?: string | null;
  canManage?: boolean;
}) {
  const connected = banks.filter((b) => b.connected).length;
  const lastFinished = rounds.findLast((r) => r.status === 'committed' || r.status === 'failed')?.id ?? null;
  const [openTrust, setOpenTrust] = useState<string | null>(null);
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
                <th>Data health</th>
                <th>Last seen</th>
                <th className="num">Examples (train / test)</th>
                <th className="num">Rounds</th>
                <th className="num">Last update</th>
                <th className="num">ε spent</th>
                <th>Rejected updates</th>
                <th>Trust</th>
              </tr>
            </thead>
            <tbody>
              {banks.map((b) => (
                <Fragment key={b.id}>
                  <BankRow
                    bank={b}
                    rounds={rounds}
                    now={now}
                    open={openTrust === b.id}
                    onToggle={() => setOpenTrust(openTrust === b.id ? null : b.id)}
                  />
                  {openTrust === b.id && (
                    <tr data-testid="bank-trust-row">
                      <td colSpan={10}>
                        <BankTrust bankId={b.id} token={token} canManage={canManage} lastRoundId={lastFinished} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
