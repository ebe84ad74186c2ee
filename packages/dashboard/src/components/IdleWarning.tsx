/**
 * Warns before the session ends for inactivity, and keeps it alive while the person is
 * using the page. Background polling does not extend a session (the server counts only
 * changes and explicit refreshes as activity), so keyboard and pointer activity send a
 * refresh, at most once a minute.
 *
 * The session is shared by every tab of the browser, and another tab may be keeping it alive:
 * this tab's own deadline is only a guess. Before it warns, and again once its deadline has
 * passed, it asks the server (GET /api/whoami, which does not extend the session). It signs
 * out only when the server no longer knows the session, and then only itself: ending the
 * session on the server would sign out the tab the person is working in.
 */
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api';
import { call, usePeople } from '../lib/people';

const WARN_MS = 2 * 60_000;
const REFRESH_EVERY_MS = 60_000;
/** How often the server is asked while this tab warns, and once its deadline has passed. */
const CHECK_WHILE_WARNING_MS = 15_000;
const CHECK_AFTER_DEADLINE_MS = 2_000;
const IDLE_NOTICE = 'You were signed out after a period of inactivity.';

export function IdleWarning() {
  const people = usePeople();
  // Server time and local time differ: keep the remaining time, measured locally.
  const [deadline, setDeadline] = useState<number | null>(() =>
    people?.me.expiresAt ? Date.now() + (people.me.expiresAt - people.me.now) : null,
  );
  const [now, setNow] = useState(Date.now());
  const lastRefresh = useRef(Date.now());
  const lastCheck = useRef(0);
  const checking = useRef(false);

  const refresh = async () => {
    lastRefresh.current = Date.now();
    try {
      const r = await call<{ expiresAt: number; now: number }>('POST', '/api/session/refresh');
      setDeadline(Date.now() + (r.expiresAt - r.now));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401)
        people?.logout('Your session ended. Please sign in again.', { local: true });
    }
  };

  /** The session's deadline as the server has it now (another tab may have moved it). */
  const check = async (deadlinePassed: boolean) => {
    lastCheck.current = Date.now();
    try {
      const me = await call<{ expiresAt?: number | null; now: number }>('GET', '/api/whoami');
      if (me.expiresAt) setDeadline(Date.now() + (me.expiresAt - me.now));
    } catch (err) {
      // Unreachable past the deadline: the session has most likely ended too; this tab lets go.
      if ((err instanceof ApiError && err.status === 401) || deadlinePassed)
        people?.logout(IDLE_NOTICE, { local: true });
    }
  };

  useEffect(() => {
    const onActivity = () => {
      if (Date.now() - lastRefresh.current > REFRESH_EVERY_MS) void refresh();
    };
    window.addEventListener('keydown', onActivity);
    window.addEventListener('pointerdown', onActivity);
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      window.removeEventListener('keydown', onActivity);
      window.removeEventListener('pointerdown', onActivity);
      clearInterval(timer);
    };
  }, []);

  const warning = deadline !== null && deadline - now <= WARN_MS;
  const passed = deadline !== null && now >= deadline;
  useEffect(() => {
    if (!warning || checking.current) return;
    if (Date.now() - lastCheck.current < (passed ? CHECK_AFTER_DEADLINE_MS : CHECK_WHILE_WARNING_MS)) return;
    checking.current = true;
    void check(passed).finally(() => (checking.current = false));
  }, [now, warning, passed]);

  if (!warning) return null;
  const left = Math.max(0, Math.round((deadline - now) / 1000));
  return (
    <div className="banner banner-warn" role="alert" data-testid="idle-warning">
      You will be signed out in {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')} for inactivity.{' '}
      <button type="button" className="btn btn-primary" data-testid="stay-signed-in" onClick={() => void refresh()}>
        Stay signed in
      </button>
    </div>
  );
}
