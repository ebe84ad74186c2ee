/** Administrators manage people: create (with a one-time password), change role, disable, reset MFA or password, end sessions. */
import { useEffect, useState, type FormEvent } from 'react';
import { Header } from '../components/Header';
import { call, ROLE_LABELS, usePeople, type AccountView, type PersonRole } from '../lib/people';

const ROLES: PersonRole[] = ['admin', 'ml-engineer', 'auditor', 'viewer'];

export function UsersPage() {
  const people = usePeople()!;
  const [users, setUsers] = useState<AccountView[]>([]);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<PersonRole>('viewer');

  const load = () =>
    call<AccountView[]>('GET', '/api/users', undefined, people.token).then(setUsers, (e: Error) =>
      setMsg({ ok: false, text: e.message }),
    );
  useEffect(() => void load(), []);

  const act = async (what: () => Promise<string | void>) => {
    try {
      const text = await what();
      setMsg({ ok: true, text: text || 'Done.' });
      await load();
    } catch (err) {
      setMsg({ ok: false, text: (err as Error).message });
    }
  };

  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const r = await call<{ oneTimePassword: string }>(
        'POST',
        '/api/users',
        { username, displayName: displayName || undefined, role },
        people.token,
      );
      setUsername('');
      setDisplayName('');
      return `Created ${username}. One-time password (shown once, give it over a separate channel): ${r.oneTimePassword}`;
    });
  };

  return (
    <div className="app" data-testid="users-page">
      <Header role={people.me.role} live={null} health={null} onLogout={() => people.logout()} />
      <main className="content">
        <p>
          <a href="#overview">← Back to the dashboard</a>
        </p>
        <section className="panel">
          <h2>Add a person</h2>
          <form onSubmit={create} className="row-buttons">
            <input
              aria-label="Username"
              placeholder="username"
              data-testid="new-username"
              maxLength={64}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
            <input
              aria-label="Display name"
              placeholder="display name"
              maxLength={100}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
            <select
              aria-label="Role"
              data-testid="new-role"
              value={role}
              onChange={(e) => setRole(e.target.value as PersonRole)}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
            <button type="submit" className="btn btn-primary" data-testid="new-submit">
              Add
            </button>
          </form>
        </section>
        {msg && (
          <p className={`callout ${msg.ok ? 'callout-ok' : 'callout-error'}`} role="alert" data-testid="users-result">
            {msg.text}
          </p>
        )}
        <section className="panel">
          <h2>People</h2>
          <table className="table table-compact" data-testid="users-table">
            <thead>
              <tr>
                <th>Username</th>
                <th>Name</th>
                <th>Role</th>
                <th>MFA</th>
                <th>State</th>
                <th>Last sign-in</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id} data-testid={`user-${u.username}`}>
                  <td className="mono">{u.username}</td>
                  <td>{u.displayName}</td>
                  <td>
                    <select
                      aria-label={`Role of ${u.username}`}
                      value={u.role}
                      onChange={(e) =>
                        void act(
                          async () =>
                            void (await call('PATCH', `/api/users/${u.id}`, { role: e.target.value }, people.token)),
                        )
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {ROLE_LABELS[r]}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>{u.mfaEnabled ? 'on' : 'off'}</td>
                  <td>{u.disabled ? 'disabled' : u.locked ? 'locked' : u.mustChangePassword ? 'new' : 'active'}</td>
                  <td>{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : 'never'}</td>
                  <td className="row-buttons">
                    <button
                      type="button"
                      className="btn btn-ghost"
                      onClick={() =>
                        void act(
                          async () =>
                            void (await call('PATCH', `/api/users/${u.id}`, { disabled: !u.disabled }, people.token)),
                        )
                      }
                    >
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>
                    <button
                      type="button"
                      className="btn btn-ghost"
                      onClick={() =>
                        void act(
                          async () =>
                            void (await call('POST', `/api/users/${u.id}/reset-mfa`, undefined, people.token)),
                        )
                      }
                    >
                      Reset MFA
                    </button>
                    <button
                      type="button"
                      className="btn btn-ghost"
                      onClick={() =>
                        void act(async () => {
                          const r = await call<{ oneTimePassword: string }>(
                            'POST',
                            `/api/users/${u.id}/reset-password`,
                            undefined,
                            people.token,
                          );
                          return `New one-time password for ${u.username} (shown once): ${r.oneTimePassword}`;
                        })
                      }
                    >
                      Reset password
                    </button>
                    <button
                      type="button"
                      className="btn btn-ghost"
                      onClick={() =>
                        void act(
                          async () =>
                            void (await call('POST', `/api/users/${u.id}/end-sessions`, undefined, people.token)),
                        )
                      }
                    >
                      End sessions
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </main>
    </div>
  );
}
