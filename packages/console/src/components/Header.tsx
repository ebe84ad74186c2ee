/** Top bar: navigation, who is signed in, sign out. */
import type { WhoAmI } from '../lib/types';
import type { Route } from '../lib/route';

const LINKS: { hash: string; label: string; pages: Route['page'][]; permission: string }[] = [
  { hash: '#/alerts', label: 'Alerts', pages: ['alerts', 'alert'], permission: 'alerts.read' },
  { hash: '#/upload', label: 'Score a file', pages: ['upload'], permission: 'scores.create' },
  { hash: '#/threshold', label: 'Threshold', pages: ['threshold'], permission: 'threshold.read' },
  { hash: '#/accounts', label: 'Accounts', pages: ['accounts'], permission: 'accounts.read' },
  { hash: '#/segments', label: 'Segments', pages: ['segments'], permission: 'accounts.read' },
  { hash: '#/anonymise', label: 'Anonymise', pages: ['anonymise'], permission: 'anonymise' },
];

export function Header({ me, route, onLogout }: { me: WhoAmI; route: Route; onLogout: () => void }) {
  return (
    <header className="topbar">
      <div className="brand">FinSecure · Bank console</div>
      <nav>
        {LINKS.filter((l) => me.permissions.includes(l.permission)).map((l) => (
          <a
            key={l.hash}
            href={l.hash}
            className={l.pages.includes(route.page) ? 'active' : ''}
            data-testid={`nav-${l.label.toLowerCase().replace(/ /g, '-')}`}
          >
            {l.label}
          </a>
        ))}
      </nav>
      <div className="who" data-testid="whoami">
        {me.displayName} <span className="badge">{me.role}</span>
        <button className="btn btn-ghost" onClick={onLogout} data-testid="logout">
          Sign out
        </button>
      </div>
    </header>
  );
}
