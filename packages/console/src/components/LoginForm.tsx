/** The console's sign-in: the shared form (@finsecure/ui) over the console's own API. */
import { SignInForm, type SignInCalls } from '@finsecure/ui';
import { api } from '../lib/api';

const calls: SignInCalls = {
  password: async (username, password) =>
    (await api<{ stage: 'mfa' | 'active' }>('POST', '/api/auth/login', { username, password })).stage,
  code: async (code) => {
    await api('POST', '/api/auth/mfa', { code });
  },
};

export function LoginForm({ onLogin }: { onLogin: () => void }) {
  return (
    <SignInForm
      className="card login-card"
      // The sign-in page's one h1 (every page has one, for screen readers' heading navigation).
      heading={<h1 className="brand">FinSecure · Bank console</h1>}
      tagline="Fraud alerts of this bank. Transactions never leave the bank."
      calls={calls}
      // The console's API errors already say what went wrong (including "cannot be reached").
      explain={(err) => (err as Error).message}
      onSignedIn={onLogin}
    />
  );
}
