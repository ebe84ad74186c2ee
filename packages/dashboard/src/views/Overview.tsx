/** Overview: training state, current round and phase, banks, privacy spent, config, controls. */
import type { Session } from '../App';
import { TrainingStateBadge } from '../components/Badge';
import { Panel } from '../components/Panel';
import { PHASES } from '../lib/rounds';
import type { DashboardData } from '../lib/useDashboard';
import type { StatusView } from '../lib/types';
import { ConfigSummary } from './ConfigSummary';
import { Controls } from './Controls';
import { PrivacyBudget } from './PrivacyBudget';

function explain(status: StatusView, minBanks: number, totalRounds: number): string {
  switch (status.state) {
    case 'idle':
      return 'Training has not started. An admin can press Start.';
    case 'paused':
      return 'Paused by an admin: the current round finishes, no new round starts until training is resumed.';
    case 'stopped':
      return 'Stopped by an admin. Press Start to continue from the current global model.';
    case 'finished':
      return `All ${totalRounds || status.roundsCompleted} planned rounds are done. An admin can start more rounds.`;
    case 'running':
      if (status.currentRound) return 'A round is in progress.';
      if (status.connectedBanks < minBanks)
        return `Waiting for banks: a round needs ${minBanks} connected, ${status.connectedBanks} connected now.`;
      return 'Between rounds: the next one starts shortly.';
  }
}

export function Overview({
  data,
  session,
  onChanged,
  canReadBanks,
}: {
  data: DashboardData;
  session: Session;
  onChanged: () => Promise<void>;
  /** The role may read /api/banks (the registered count); a viewer may not. */
  canReadBanks: boolean;
}) {
  const { status, settings, banks } = data;
  if (!status) return null;
  const minBanks = Number(settings?.rules.minBanks ?? 0);
  // The status is the newer of the two: it comes with every live status event.
  const totalRounds = Number(status.roundsConfigured ?? settings?.rules.rounds ?? 0);
  const registered = banks.filter((b) => !b.revoked).length;
  const phaseIndex = status.currentRound ? PHASES.indexOf(status.currentRound.phase as (typeof PHASES)[number]) : -1;

  return (
    <Panel
      id="overview"
      title="Overview"
      testId="overview"
      subtitle={explain(status, minBanks, totalRounds)}
      actions={
        // Admins and ML engineers control training (the server checks the same rule).
        session.role === 'admin' || session.role === 'ml-engineer' ? (
          <Controls
            token={session.token}
            state={status.state}
            roundsCompleted={status.roundsCompleted}
            onChanged={onChanged}
          />
        ) : (
          <span className="muted small">Read-only view</span>
        )
      }
    >
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Training</span>
          <span className="stat-value">
            <TrainingStateBadge state={status.state} />
          </span>
        </div>
        <div className="stat" data-testid="current-round">
          <span className="stat-label">Current round</span>
          {status.currentRound ? (
            <span className="stat-value">
              #{status.currentRound.id} <span className="phase-name">{status.currentRound.phase}</span>
              {status.currentRound.progress && status.currentRound.phase !== 'aggregating' && (
                <span className="stat-note" data-testid="round-progress">
                  {status.currentRound.progress.reported} of {status.currentRound.progress.asked} banks reported
                  {status.currentRound.progress.dropped > 0 && `, ${status.currentRound.progress.dropped} dropped`}
                </span>
              )}
            </span>
          ) : (
            <span className="stat-value muted">none</span>
          )}
          <ol className="phases" aria-label="Round phases">
            {PHASES.map((p, i) => (
              <li key={p} className={i < phaseIndex ? 'done' : i === phaseIndex ? 'active' : ''}>
                {p}
              </li>
            ))}
          </ol>
        </div>
        <div className="stat">
          <span className="stat-label">Rounds</span>
          <span className="stat-value" data-testid="rounds-completed">
            {status.roundsCompleted}
            {totalRounds > 0 && <span className="muted"> / {totalRounds}</span>}
          </span>
          <span className={status.roundsFailed ? 'stat-note text-error' : 'stat-note'}>
            {status.roundsFailed} failed
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">Global model</span>
          <span className="stat-value">v{status.modelVersion}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Banks connected</span>
          <span className="stat-value" data-testid="connected-banks">
            {status.connectedBanks}
            {/* Registered banks come from /api/banks, which not every role may read: no "/ 0" then. */}
            {canReadBanks && <span className="muted"> / {registered}</span>}
          </span>
          {minBanks > 0 && <span className="stat-note">{minBanks} needed per round</span>}
        </div>
      </div>
      <div className="grid-2 inner">
        <PrivacyBudget privacy={data.privacy} banks={banks} />
        <ConfigSummary settings={settings} />
      </div>
    </Panel>
  );
}
