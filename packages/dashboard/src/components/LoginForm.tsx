/**
 * The dashboard's sign-in: the shared form (@finsecure/ui) over the aggregator's API. A person
 * signs in with username, password and two-factor code; an access token (automation, or the
 * bootstrap admin/viewer token) still works for scripts and first set-up.
 */
import { SignInForm, type SignInCalls } from '@finsecure/ui';
import { ApiError } from '../lib/api';
import { call } from '../lib/people';

const calls: SignInCalls = {
  password: async (username, password) =>
    (await call<{ stage: 'mfa' | 'active' }>('POST', '/api/auth/login', { username, password })).stage,
  code: async (code) => {
    await call('POST', '/api/auth/mfa', { code });
  },
  token: async (token) => {
    await call('GET', '/api/whoami', undefined, token);
  },
};

function explain(err: unknown, step: string): string {
  if (err instanceof ApiError && err.unreachable)
    return 'The aggregator cannot be reached. Check that it is running, then try again.';
  if (err instanceof ApiError && err.status === 401 && step === 'token')
    return 'This token is not recognised by the aggregator.';
  return (err as Error).message;
}

export function LoginForm({
  onLogin,
  notice,
}: {
  /** Signed in: with a session cookie (token null) or with an access token. */
  onLogin: (token: string | null) => void;
  notice: string | null;
}) {
  return (
    <SignInForm
      heading={
        <div className="brand brand-lg">
          <span className="brand-mark" aria-hidden>
            ✓
          </span>
          FinSecure
        </div>
      }
      tagline="Consortium dashboard: federated fraud-model training, live."
      notice={notice}
      calls={calls}
      explain={explain}
      onSignedIn={onLogin}
    />
  );
}
