/** Who is signed in decides what is shown: sign-in, a required set-up step, or the console. */
import { useCallback, useEffect, useState } from 'react';
import { Header } from './components/Header';
import { LoginForm } from './components/LoginForm';
import { api, ApiError, onSessionEnded } from './lib/api';
import { useKeepAlive } from './lib/keep-alive';
import { useRoute } from './lib/route';
import type { SessionState, WhoAmI } from './lib/types';
import { AccountsPage } from './views/AccountsPage';
import { AlertDetail } from './views/AlertDetail';
import { AlertList } from './views/AlertList';
import { AnonymisePage } from './views/AnonymisePage';
import { SegmentsPage } from './views/SegmentsPage';
import { SetupPage } from './views/SetupPage';
import { ThresholdPage } from './views/ThresholdPage';
import { UploadPage } from './views/UploadPage';

export function App() {
  const [me, setMe] = useState<WhoAmI | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const route = useRoute();

  // /api/auth/session rather than /api/whoami: signed out is the normal case here, and it
  // answers 200 then (whoami's 401 would be a console error on every visit to the sign-in page).
  const refresh = useCallback(() => {
    api<SessionState>('GET', '/api/auth/session')
      .then((s) => (setMe(s.signedIn ? s : null), setError(null)))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status > 0) setMe(null);
        else setError((e as Error).message);
      });
  }, []);
  useEffect(refresh, [refresh]);
  // A 401 anywhere after sign-in: the session ended; back to the sign-in form, saying why.
  const [ended, setEnded] = useState(false);
  useEffect(() => {
    onSessionEnded(() => {
      setMe((was) => {
        if (was) setEnded(true);
        return null;
      });
    });
    return () => onSessionEnded(null);
  }, []);

  useKeepAlive(Boolean(me) && !me?.setup);

  const logout = async () => {
    await api('POST', '/api/auth/logout').catch(() => {});
    setMe(null);
  };

  if (error) return <p className="callout callout-error page">{error}</p>;
  if (me === undefined) return <p className="muted page">Loading…</p>;
  if (me === null)
    return (
      <>
        {ended && (
          <p className="callout callout-warn page" role="alert" data-testid="session-ended">
            Your session ended (idle too long: reading does not count, only changes do; a sign-out elsewhere; or an
            administrator ended it). Sign in again; anything you had typed on the page was not sent.
          </p>
        )}
        <LoginForm onLogin={() => (setEnded(false), refresh())} />
      </>
    );
  const can = (p: string) => me.permissions.includes(p);
  return (
    <>
      <Header me={me} route={route} onLogout={() => void logout()} />
      <main className="page">
        {me.setup ? (
          <SetupPage setup={me.setup} onDone={refresh} />
        ) : route.page === 'alert' ? (
          <AlertDetail id={route.id} canDecide={can('alerts.decide')} />
        ) : route.page === 'upload' ? (
          <UploadPage />
        ) : route.page === 'accounts' ? (
          <AccountsPage canRun={can('accounts.run')} />
        ) : route.page === 'segments' ? (
          <SegmentsPage />
        ) : route.page === 'anonymise' && can('anonymise') ? (
          <AnonymisePage />
        ) : route.page === 'threshold' ? (
          <ThresholdPage canWrite={can('threshold.write')} />
        ) : (
          <AlertList />
        )}
      </main>
    </>
  );
}
