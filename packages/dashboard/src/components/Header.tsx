import type { LiveStatus } from '../lib/live';
import { ROLE_LABELS, usePeople, type PersonRole } from '../lib/people';
import type { HealthView } from '../lib/types';

/** Sections of the dashboard and the permission each needs (what a role cannot use is not offered). */
const SECTIONS: [string, string, string][] = [
  ['overview', 'Overview', 'charts.read'],
  ['quality', 'Model quality', 'charts.read'],
  ['communication', 'Communication', 'charts.read'],
  ['timing', 'Round timing', 'charts.read'],
  ['banks', 'Banks', 'banks.read'],
  ['rounds', 'Rounds', 'rounds.read'],
  ['segments', 'Segments', 'rounds.read'],
  ['audit', 'Audit log', 'audit.read'],
  ['model', 'Model', 'models.read'],
];

export function Header({
  role,
  live,
  health,
  onLogout,
}: {
  role: PersonRole;
  live: LiveStatus | null;
  health: HealthView | null;
  onLogout: () => void;
}) {
  const people = usePeople();
  const can = (p: string) => (people ? people.can(p) : true);
  const person = people?.me.kind === 'session' ? people.me : null;
  const liveLabel =
    live?.state === 'open'
      ? 'Live'
      : live?.state === 'connecting'
        ? 'Connecting…'
        : live?.state === 'refused'
          ? 'Live updates off'
          : 'Reconnecting…';
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <div className="brand">
          <span className="brand-mark" aria-hidden>
            ✓
          </span>
          FinSecure <span className="brand-sub">consortium dashboard</span>
        </div>
        <nav className="nav" aria-label="Sections" data-testid="nav">
          {SECTIONS.filter(([, , permission]) => can(permission)).map(([id, label]) => (
            <a key={id} href={`#${id}`} data-testid={`nav-${id}`}>
              {label}
            </a>
          ))}
          {can('users.manage') && (
            <a href="#/users" data-testid="nav-users">
              Users
            </a>
          )}
        </nav>
        <div className="topbar-right">
          {live && (
            <span
              className={`live live-${live.state}`}
              data-testid="live-indicator"
              data-state={live.state}
              title={live.refusal ?? (health ? `aggregator ${health.version}` : undefined)}
            >
              <span className="live-dot" aria-hidden />
              {liveLabel}
            </span>
          )}
          {person && (
            <a href="#/profile" className="btn btn-ghost" data-testid="nav-profile" title="Your profile">
              {person.displayName}
            </a>
          )}
          <span className={`role role-${role === 'admin' ? 'admin' : 'viewer'}`} data-testid="role-badge">
            {people?.me.kind === 'bootstrap' && role === 'viewer' ? 'Viewer (read-only)' : ROLE_LABELS[role]}
          </span>
          <button type="button" className="btn btn-ghost" data-testid="logout" onClick={onLogout}>
            Log out
          </button>
        </div>
      </div>
    </header>
  );
}
