import { useState, type FormEvent } from 'react';
import { ApiError, getJson } from '../lib/api';
import type { Role } from '../lib/types';

export function LoginForm({
  onLogin,
  notice,
}: {
  onLogin: (s: { token: string; role: Role }) => void;
  notice: string | null;
}) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Enter the admin or viewer token of this aggregator.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { role } = await getJson<{ role: Role }>('/api/whoami', t);
      onLogin({ token: t, role });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('This token is not recognised by the aggregator.');
      else if (err instanceof ApiError && err.unreachable)
        setError('The aggregator cannot be reached. Check that it is running, then try again.');
      else setError(`Login failed: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <form className="login-card" data-testid="login-form" onSubmit={submit}>
        <div className="brand brand-lg">
          <span className="brand-mark" aria-hidden>
            ✓
          </span>
          FinSecure
        </div>
        <p className="muted">Consortium dashboard: federated fraud-model training, live.</p>
        {notice && (
          <p className="callout callout-warn" data-testid="login-notice">
            {notice}
          </p>
        )}
        <label htmlFor="token">Access token</label>
        <input
          id="token"
          data-testid="login-token"
          type="password"
          autoComplete="current-password"
          placeholder="admin or viewer token"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
        />
        <p className="hint">
          Admins can start, pause and stop training; viewers can only watch. The token is kept for this browser tab
          only.
        </p>
        {error && (
          <p className="callout callout-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" data-testid="login-submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}
