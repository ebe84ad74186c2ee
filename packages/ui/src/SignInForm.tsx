/**
 * Sign-in, shared by the consortium dashboard and the bank console: username and password, then
 * the 6-digit code of the authenticator app (RFC 6238 TOTP) or a recovery code when two-factor
 * authentication is on; optionally an access token instead (the dashboard's scripts and first
 * set-up). The app passes the calls (its own API client and paths) and the wording of its errors;
 * the steps, the fields and their limits are the same in both. Styled by the app's stylesheet
 * (classes login-page, login-card, callout, btn, hint).
 */
import { useState, type FormEvent, type ReactNode } from 'react';

/** The server calls behind each step. Each rejects with an error whose message a person can read. */
export interface SignInCalls {
  /** Checks the username and password: 'mfa' when a code must follow, 'active' when signed in. */
  password(username: string, password: string): Promise<'mfa' | 'active'>;
  /** Checks the authenticator or recovery code (after 'mfa'). */
  code(code: string): Promise<void>;
  /** Checks an access token; omit it to offer no token sign-in. */
  token?(token: string): Promise<void>;
}

/** Which step an error came from, for the app's wording. */
export type SignInStep = 'password' | 'code' | 'token';

export interface SignInFormProps {
  /** The brand block at the top of the card. */
  heading: ReactNode;
  /** One line under it: what this app is. */
  tagline: string;
  /** A notice above the fields (a session that ended, say), or null. */
  notice?: string | null;
  calls: SignInCalls;
  /** The text shown for a failed step (for example "… cannot be reached" when the server is down). */
  explain: (err: unknown, step: SignInStep) => string;
  /** Signed in: with a session cookie (token null) or with the access token given. */
  onSignedIn: (token: string | null) => void;
  /** Classes of the form (default "login-card"). */
  className?: string;
}

export function SignInForm({
  heading,
  tagline,
  notice = null,
  calls,
  explain,
  onSignedIn,
  className = 'login-card',
}: SignInFormProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'code'>('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const tokenCall = calls.token;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    const using: SignInStep = step === 'code' ? 'code' : tokenCall && token.trim() ? 'token' : 'password';
    try {
      if (using === 'code') {
        await calls.code(code.trim());
        onSignedIn(null);
      } else if (using === 'token') {
        await tokenCall!(token.trim());
        onSignedIn(token.trim());
      } else if (!username.trim() || !password) {
        setError(`Enter your username and password${tokenCall ? ' (or an access token)' : ''}.`);
      } else {
        const stage = await calls.password(username, password);
        setPassword('');
        if (stage === 'mfa') setStep('code');
        else onSignedIn(null);
      }
    } catch (err) {
      setError(explain(err, using));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <form className={className} data-testid="login-form" onSubmit={submit}>
        {heading}
        <p className="muted">{tagline}</p>
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
            {tokenCall && (
              <>
                {/* A plain label: a <details> toggle here folded only the label away, never the field. */}
                <label htmlFor="token">
                  Access token <span className="hint">(instead of a password: scripts, first set-up)</span>
                </label>
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
            )}
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
