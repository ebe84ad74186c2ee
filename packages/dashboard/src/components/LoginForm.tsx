/**
 * Sign-in: username and password, then the 6-digit code of the authenticator app (or a
 * recovery code) when two-factor authentication is on. An access token (automation or
 * the bootstrap admin/viewer token) still works for scripts and first set-up.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../lib/api';
import { call } from '../lib/people';

export function LoginForm({
  onLogin,
  notice,
}: {
  /** Signed in: with a session cookie (token null) or with an access token. */
  onLogin: (token: string | null) => void;
  notice: string | null;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'code'>('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const explain = (err: unknown) => {
    if (err instanceof ApiError && err.unreachable)
      setError('The aggregator cannot be reached. Check that it is running, then try again.');
    else setError((err as Error).message);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (step === 'code') {
        await call('POST', '/api/auth/mfa', { code: code.trim() });
        onLogin(null);
      } else if (token.trim()) {
        await call('GET', '/api/whoami', undefined, token.trim());
        onLogin(token.trim());
      } else if (!username.trim() || !password) {
        setError('Enter your username and password (or an access token).');
      } else {
        const r = await call<{ stage: 'mfa' | 'active' }>('POST', '/api/auth/login', { username, password });
        setPassword('');
        if (r.stage === 'mfa') setStep('code');
        else onLogin(null);
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && token.trim() && step === 'password')
        setError('This token is not recognised by the aggregator.');
      else explain(err);
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
        {step === 'password' ? (
          <>
            <label htmlFor="username">Username</label>
            <input
              id="username"
              data-testid="login-username"
              autoComplete="username"
              maxLength={64}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              autoFocus
            />
            <label htmlFor="password">Password</label>
            <input
              id="password"
              data-testid="login-password"
              type="password"
              autoComplete="current-password"
              maxLength={256}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <details className="details">
              <summary className="hint">Sign in with an access token instead (scripts, first set-up)</summary>
              <label htmlFor="token">Access token</label>
            </details>
            <input
              id="token"
              data-testid="login-token"
              type="password"
              autoComplete="off"
              placeholder="access token (optional)"
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
          </>
        ) : (
          <>
            <label htmlFor="code">Code from your authenticator app</label>
            <input
              id="code"
              data-testid="login-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={32}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              autoFocus
            />
            <p className="hint">Lost your phone? Enter one of your recovery codes instead.</p>
          </>
        )}
        {error && (
          <p className="callout callout-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" data-testid="login-submit" disabled={busy}>
          {busy ? 'Checking…' : step === 'code' ? 'Verify' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
