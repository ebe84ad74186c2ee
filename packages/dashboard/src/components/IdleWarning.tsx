/**
 * Warns before the session ends for inactivity, and keeps it alive while the person is
 * using the page. Background polling does not extend a session (the server counts only
 * changes and explicit refreshes as activity), so keyboard and pointer activity send a
 * refresh, at most once a minute.
 */
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api';
import { call, usePeople } from '../lib/people';

const WARN_MS = 2 * 60_000;
const REFRESH_EVERY_MS = 60_000;

export function IdleWarning() {
  const people = usePeople();
  // Server time and local time differ: keep the remaining time, measured locally.
  const [deadline, setDeadline] = useState<number | null>(() =>
    people?.me.expiresAt ? Date.now() + (people.me.expiresAt - people.me.now) : null,
  );
  const [now, setNow] = useState(Date.now());
  const lastRefresh = useRef(Date.now());

  const refresh = async () => {
    lastRefresh.current = Date.now();
    try {
      const r = await call<{ expiresAt: number; now: number }>('POST', '/api/session/refresh');
      setDeadline(Date.now() + (r.expiresAt - r.now));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) people?.logout('Your session ended. Please sign in again.');
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

  useEffect(() => {
    if (deadline !== null && now >= deadline) people?.logout('You were signed out after a period of inactivity.');
  }, [now, deadline]);

  if (deadline === null || deadline - now > WARN_MS) return null;
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
