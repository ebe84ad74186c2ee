/**
 * Who is signed in, and which page they see. A person signs in with a password (and a
 * TOTP code) into a server-side session held in an HttpOnly cookie; scripts and first
 * set-up may use an access token, kept in sessionStorage for this tab only. The
 * server decides what each role may do; this only hides what a role cannot use.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, tokenStore } from './lib/api';
import { call, People, type PeopleContext, type PersonRole, type WhoAmI } from './lib/people';
import { IdleWarning } from './components/IdleWarning';
import { LoginForm } from './components/LoginForm';
import { Dashboard } from './Dashboard';
import { ProfilePage } from './views/ProfilePage';
import { UsersPage } from './views/UsersPage';

export interface Session {
  /** '' when signed in with the session cookie. */
  token: string;
  role: PersonRole;
}

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

export function App() {
  const [me, setMe] = useState<WhoAmI | null>(null);
  const [token, setToken] = useState<string | null>(tokenStore.get());
  const [checking, setChecking] = useState(true);
  const [notice, setNotice] = useState<string | null>(null);
  const hash = useHash();

  // /api/auth/session rather than /api/whoami: signed out is the normal case on the sign-in page,
  // and it answers 200 then (whoami's 401 was a console error on every visit); a token it did not
  // accept is the same `signedIn: false`.
  const load = useCallback(async (t: string | null) => {
    try {
      const s = await call<{ signedIn: boolean } & Partial<WhoAmI>>('GET', '/api/auth/session', undefined, t);
      if (!s.signedIn) throw new ApiError('unauthorized', 401);
      const { signedIn: _signedIn, ...who } = s;
      setMe(who as WhoAmI);
      return true;
    } catch (err) {
      if (t && err instanceof ApiError && err.status === 401) {
        tokenStore.clear();
        setToken(null);
        setNotice('Your access token is no longer accepted. Please sign in again.');
      }
      setMe(null);
      return false;
    } finally {
      setChecking(false);
    }
  }, []);

  useEffect(() => {
    void load(token);
    // Once: later changes go through login()/logout().
  }, []);

  const login = useCallback(
    (t: string | null) => {
      if (t) tokenStore.set(t);
      else tokenStore.clear();
      setToken(t);
      setNotice(null);
      void load(t);
    },
    [load],
  );

  const logout = useCallback(
    (reason?: string, opts: { local?: boolean } = {}) => {
      // `local`: the session has ended on the server already, or lives on in another tab; only
      // this page forgets it.
      if (!token && !opts.local) void call('POST', '/api/auth/logout').catch(() => undefined);
      tokenStore.clear();
      setToken(null);
      setMe(null);
      setNotice(reason ?? null);
      if (window.location.hash) window.location.hash = '';
    },
    [token],
  );

  const ctx = useMemo<PeopleContext | null>(
    () =>
      me && {
        me,
        token,
        can: (p: string) => !me.setup && me.permissions.includes(p),
        reload: async () => void (await load(token)),
        logout,
      },
    [me, token, load, logout],
  );

  if (checking) return null;
  if (!me || !ctx) return <LoginForm onLogin={login} notice={notice} />;
  const session: Session = { token: token ?? '', role: me.role };
  const page =
    me.setup || hash === '#/profile' ? (
      <ProfilePage />
    ) : hash === '#/users' && ctx.can('users.manage') ? (
      <UsersPage />
    ) : (
      <Dashboard key={token ?? me.username ?? ''} session={session} onLogout={logout} />
    );
  return (
    <People.Provider value={ctx}>
      {me.kind === 'session' && <IdleWarning />}
      {page}
    </People.Provider>
  );
}
