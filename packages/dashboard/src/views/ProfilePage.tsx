/**
 * Your own account: change the password, set up (or redo) two-factor authentication with
 * a QR code, and see and end your sessions. First sign-in lands here until the
 * one-time password is changed and, for administrators, TOTP is set up.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { Header } from '../components/Header';
import { call, usePeople, type SessionView } from '../lib/people';

export function ProfilePage() {
  const people = usePeople()!;
  const { me } = people;
  return (
    <div className="app" data-testid="profile-page">
      <Header role={me.role} live={null} health={null} onLogout={() => people.logout()} />
      <main className="content">
        {me.setup && (
          <p className="callout callout-warn" data-testid="setup-required">
            {me.setup === 'password'
              ? 'Choose your own password to continue: the one you signed in with can be used only once.'
              : 'Administrators must set up two-factor authentication before anything else.'}
          </p>
        )}
        {!me.setup && (
          <p>
            <a href="#overview" data-testid="back-to-dashboard">
              ← Back to the dashboard
            </a>
          </p>
        )}
        {me.kind !== 'session' ? (
          <section className="panel">
            <p className="muted">You are signed in with an access token; a profile belongs to a person.</p>
          </section>
        ) : (
          <>
            {me.setup !== 'mfa' && <PasswordPanel />}
            {me.setup !== 'password' && <MfaPanel />}
            {!me.setup && <SessionsPanel />}
          </>
        )}
      </main>
    </div>
  );
}

function PasswordPanel() {
  const people = usePeople()!;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await call('POST', '/api/me/password', { current, next });
      setCurrent('');
      setNext('');
      setMsg({ ok: true, text: 'Password changed. Your other sessions were ended.' });
      await people.reload();
    } catch (err) {
      setMsg({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <section className="panel" data-testid="password-panel">
      <h2>Password</h2>
      <form onSubmit={submit}>
        <label htmlFor="pw-current">Current password</label>
        <input
          id="pw-current"
          data-testid="pw-current"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <label htmlFor="pw-next">New password</label>
        <input
          id="pw-next"
          data-testid="pw-next"
          type="password"
          autoComplete="new-password"
          maxLength={256}
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <p className="hint">
          At least 12 characters. A few unrelated words make a good password; common passwords are refused.
        </p>
        {msg && (
          <p className={`callout ${msg.ok ? 'callout-ok' : 'callout-error'}`} role="alert" data-testid="pw-result">
            {msg.text}
          </p>
        )}
        <button type="submit" className="btn btn-primary" data-testid="pw-submit">
          Change password
        </button>
      </form>
    </section>
  );
}

function MfaPanel() {
  const people = usePeople()!;
  const [enrol, setEnrol] = useState<{ qrDataUrl: string; secret: string } | null>(null);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Moving a second factor already in use to a new phone needs the password too.
  const [password, setPassword] = useState('');
  const start = async () => {
    setError(null);
    try {
      const body = people.me.mfaEnabled ? { password } : undefined;
      setEnrol(await call<{ qrDataUrl: string; secret: string }>('POST', '/api/me/mfa/enrol', body));
      setPassword('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    setError(null); // an earlier wrong code's message is no longer true
    try {
      const r = await call<{ recoveryCodes: string[] }>('POST', '/api/me/mfa/confirm', { code: code.trim() });
      setRecovery(r.recoveryCodes);
      setEnrol(null);
      setCode('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section className="panel" data-testid="mfa-panel">
      <h2>Two-factor authentication</h2>
      <p className="muted" data-testid="mfa-state">
        {/* On as soon as the code is confirmed, before `me` is loaded again ("I have saved them"). */}
        {people.me.mfaEnabled || recovery ? 'On: sign-in asks for a code from your authenticator app.' : 'Off.'}
      </p>
      {recovery ? (
        <div data-testid="recovery-codes">
          <p className="callout callout-ok">
            Two-factor authentication is on. Keep these recovery codes somewhere safe: each works once, and they are
            shown only now.
          </p>
          <ul className="mono">
            {recovery.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <button
            type="button"
            className="btn btn-primary"
            data-testid="recovery-done"
            onClick={() => void people.reload()}
          >
            I have saved them
          </button>
        </div>
      ) : enrol ? (
        <form onSubmit={confirm}>
          <p>Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
          <img
            src={enrol.qrDataUrl}
            alt="QR code for your authenticator app"
            width={240}
            height={240}
            data-testid="mfa-qr"
          />
          <p className="hint">
            Cannot scan? Enter this key by hand: <code data-testid="mfa-secret">{enrol.secret}</code>
          </p>
          <label htmlFor="mfa-code">Code</label>
          <input
            id="mfa-code"
            data-testid="mfa-code"
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <button type="submit" className="btn btn-primary" data-testid="mfa-confirm">
            Turn on
          </button>
        </form>
      ) : people.me.mfaEnabled ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          <label htmlFor="mfa-password">Your password</label>
          <input
            id="mfa-password"
            data-testid="mfa-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" className="btn btn-primary" data-testid="mfa-start">
            Move to a new phone (new QR code)
          </button>
        </form>
      ) : (
        <button type="button" className="btn btn-primary" data-testid="mfa-start" onClick={() => void start()}>
          Set up two-factor authentication
        </button>
      )}
      {error && (
        <p className="callout callout-error" role="alert" data-testid="mfa-error">
          {error}
        </p>
      )}
    </section>
  );
}

function SessionsPanel() {
  const [sessions, setSessions] = useState<SessionView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    call<SessionView[]>('GET', '/api/me/sessions').then(setSessions, (err: Error) => setError(err.message));
  useEffect(() => void load(), []);
  const end = async (handle: string) => {
    try {
      await call('DELETE', `/api/me/sessions/${encodeURIComponent(handle)}`);
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section className="panel" data-testid="sessions-panel">
      <h2>Your sessions</h2>
      {error && <p className="callout callout-error">{error}</p>}
      <table className="table table-compact">
        <thead>
          <tr>
            <th>Signed in</th>
            <th>Last activity</th>
            <th>Browser</th>
            <th>Address</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(sessions ?? []).map((s) => (
            <tr key={s.handle} data-testid="session-row">
              <td>{new Date(s.createdAt).toLocaleString()}</td>
              <td>{new Date(s.lastSeenAt).toLocaleString()}</td>
              <td className="small">{s.userAgent.slice(0, 60)}</td>
              <td className="mono">{s.ip}</td>
              <td>
                {s.current ? (
                  <span className="badge badge-info">this one</span>
                ) : (
                  <button type="button" className="btn btn-ghost" onClick={() => void end(s.handle)}>
                    End
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
