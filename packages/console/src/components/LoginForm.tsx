/** Sign-in: username and password, then the authenticator code when two-factor is on. */
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../lib/api';

export function LoginForm({ onLogin }: { onLogin: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'code'>('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (step === 'code') {
        await api('POST', '/api/auth/mfa', { code: code.trim() });
        onLogin();
      } else if (!username.trim() || !password) {
        setError('Enter your username and password.');
      } else {
        const r = await api<{ stage: 'mfa' | 'active' }>('POST', '/api/auth/login', { username, password });
        setPassword('');
        if (r.stage === 'mfa') setStep('code');
        else onLogin();
      }
    } catch (err) {
      setError(err instanceof ApiError && err.status === 0 ? err.message : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <form className="card login-card" data-testid="login-form" onSubmit={submit}>
        <div className="brand">FinSecure · Bank console</div>
        <p className="muted">Fraud alerts of this bank. Transactions never leave the bank.</p>
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
          </>
        ) : (
          <>
            <label htmlFor="code">Code from your authenticator app (or a recovery code)</label>
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
