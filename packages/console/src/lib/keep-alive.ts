/**
 * Keeps the session alive while the person uses the page: a key or pointer press sends
 * POST /api/session/refresh, at most once a minute. The server counts only changes as activity
 * (polling must not keep an unattended session open), so an analyst reading the queue for longer
 * than the idle timeout was signed out. A 401 on the way goes to the app's sign-in (lib/api.ts).
 */
import { useEffect } from 'react';
import { api } from './api';

const REFRESH_EVERY_MS = 60_000;

export function useKeepAlive(signedIn: boolean): void {
  useEffect(() => {
    if (!signedIn) return;
    let last = Date.now();
    const onActivity = () => {
      if (Date.now() - last < REFRESH_EVERY_MS) return;
      last = Date.now();
      void api('POST', '/api/session/refresh').catch(() => undefined);
    };
    window.addEventListener('keydown', onActivity);
    window.addEventListener('pointerdown', onActivity);
    return () => {
      window.removeEventListener('keydown', onActivity);
      window.removeEventListener('pointerdown', onActivity);
    };
  }, [signedIn]);
}
