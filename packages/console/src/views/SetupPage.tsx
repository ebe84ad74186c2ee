/**
 * What a person must do before anything else: change a one-time password, or (admins) set
 * up two-factor authentication. The server allows nothing else until then.
 */
import { useState, type FormEvent } from 'react';
import { api } from '../lib/api';

export function SetupPage({ setup, onDone }: { setup: 'password' | 'mfa'; onDone: () => void }) {
  return setup === 'password' ? <ChangePassword onDone={onDone} /> : <EnrolMfa onDone={onDone} />;
}

function ChangePassword({ onDone }: { onDone: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api('POST', '/api/me/password', { current, next });
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form className="card narrow-card" onSubmit={submit} data-testid="setup-password">
      <h1>Choose your password</h1>
      <p className="muted">
        You signed in with a one-time password. Choose your own (at least 12 characters, not a common one).
      </p>
      <label htmlFor="cur">One-time password</label>
      <input
        id="cur"
        type="password"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        autoComplete="current-password"
      />
      <label htmlFor="new">New password</label>
      <input
        id="new"
        type="password"
        value={next}
        onChange={(e) => setNext(e.target.value)}
        autoComplete="new-password"
      />
      {error && <p className="callout callout-error">{error}</p>}
      <button className="btn btn-primary" type="submit">
        Save
      </button>
    </form>
  );
}

function EnrolMfa({ onDone }: { onDone: () => void }) {
  const [qr, setQr] = useState<{ qrDataUrl: string; secret: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = async () => {
    try {
      setQr(await api('POST', '/api/me/mfa/enrol'));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setCodes(
        (await api<{ recoveryCodes: string[] }>('POST', '/api/me/mfa/confirm', { code: code.trim() })).recoveryCodes,
      );
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (codes) {
    return (
      <div className="card narrow-card">
        <h1>Recovery codes</h1>
        <p>Keep these somewhere safe; each works once if you lose your phone. They are not shown again.</p>
        <pre className="mono">{codes.join('\n')}</pre>
        <button className="btn btn-primary" onClick={onDone}>
          Done
        </button>
      </div>
    );
  }
  return (
    <form className="card narrow-card" onSubmit={confirm}>
      <h1>Set up two-factor authentication</h1>
      <p className="muted">Administrators need an authenticator app (RFC 6238 TOTP).</p>
      {!qr ? (
        <button type="button" className="btn btn-primary" onClick={() => void start()}>
          Show the QR code
        </button>
      ) : (
        <>
          <img src={qr.qrDataUrl} alt="QR code for your authenticator app" width={200} height={200} />
          <p className="small mono">{qr.secret}</p>
          <label htmlFor="code">Code from the app</label>
          <input id="code" inputMode="numeric" value={code} onChange={(e) => setCode(e.target.value)} />
          <button className="btn btn-primary" type="submit">
            Confirm
          </button>
        </>
      )}
      {error && <p className="callout callout-error">{error}</p>}
    </form>
  );
}
