/** Session handling: log in with an admin or viewer token, kept in sessionStorage. */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, getJson, tokenStore } from './lib/api';
import type { Role } from './lib/types';
import { LoginForm } from './components/LoginForm';
import { Dashboard } from './Dashboard';

export interface Session {
  token: string;
  role: Role;
}

const ROLE_KEY = 'finsecure.role';

function storedSession(): Session | null {
  const token = tokenStore.get();
  const role = sessionStorage.getItem(ROLE_KEY);
  return token && (role === 'admin' || role === 'viewer') ? { token, role } : null;
}

export function App() {
  const [session, setSession] = useState<Session | null>(storedSession);
  const [notice, setNotice] = useState<string | null>(null);

  const login = useCallback((s: Session) => {
    tokenStore.set(s.token);
    sessionStorage.setItem(ROLE_KEY, s.role);
    setNotice(null);
    setSession(s);
  }, []);

  const logout = useCallback((reason?: string) => {
    tokenStore.clear();
    sessionStorage.removeItem(ROLE_KEY);
    setNotice(reason ?? null);
    setSession(null);
  }, []);

  // A stored token may have been rotated while the tab was away: re-check its role.
  useEffect(() => {
    if (!session) return;
    getJson<{ role: Role }>('/api/whoami', session.token).then(
      ({ role }) => {
        if (role !== session.role) login({ token: session.token, role });
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401)
          logout('Your session token is no longer accepted. Please log in again.');
      },
    );
    // Only when the token changes (role changes are applied by login()).
  }, [session?.token]);

  if (!session) return <LoginForm onLogin={login} notice={notice} />;
  return <Dashboard key={session.token} session={session} onLogout={logout} />;
}
