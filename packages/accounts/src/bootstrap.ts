/**
 * The first administrator. A fresh installation has no accounts; the operator who starts
 * it gets an "admin" account with a one-time password, printed once on the terminal
 * (never logged), which must be changed (and MFA enrolled) at first sign-in.
 */
import { createAccount } from './manage.js';
import type { AccountsDeps } from './deps.js';

export interface FirstAdmin {
  username: string;
  oneTimePassword: string;
}

/** Creates the first admin when there is no account at all; null otherwise. */
export async function ensureFirstAdmin(d: AccountsDeps, username = 'admin'): Promise<FirstAdmin | null> {
  if ((await d.store.countAccounts()) > 0) return null;
  const { oneTimePassword } = await createAccount(
    d,
    { username, displayName: 'Administrator', role: 'admin' },
    'system',
  );
  return { username, oneTimePassword: oneTimePassword! };
}
