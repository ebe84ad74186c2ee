import type { LiveStatus } from '../lib/live';
import type { HealthView, Role } from '../lib/types';

const SECTIONS: [string, string][] = [
  ['overview', 'Overview'],
  ['quality', 'Model quality'],
  ['communication', 'Communication'],
  ['timing', 'Round timing'],
  ['banks', 'Banks'],
  ['rounds', 'Rounds'],
  ['audit', 'Audit log'],
  ['model', 'Model'],
];

export function Header({
  role,
  live,
  health,
  onLogout,
}: {
  role: Role;
  live: LiveStatus;
  health: HealthView | null;
  onLogout: () => void;
}) {
  const liveLabel = live.state === 'open' ? 'Live' : live.state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <div className="brand">
          <span className="brand-mark" aria-hidden>
            ✓
          </span>
          FinSecure <span className="brand-sub">consortium dashboard</span>
        </div>
        <nav className="nav" aria-label="Sections">
          {SECTIONS.map(([id, label]) => (
            <a key={id} href={`#${id}`}>
              {label}
            </a>
          ))}
        </nav>
        <div className="topbar-right">
          <span
            className={`live live-${live.state}`}
            data-testid="live-indicator"
            data-state={live.state}
            title={health ? `aggregator ${health.version}` : undefined}
          >
            <span className="live-dot" aria-hidden />
            {liveLabel}
          </span>
          <span className={`role role-${role}`} data-testid="role-badge">
            {role === 'admin' ? 'Admin' : 'Viewer (read-only)'}
          </span>
          <button type="button" className="btn btn-ghost" data-testid="logout" onClick={onLogout}>
            Log out
          </button>
        </div>
      </div>
    </header>
  );
}
