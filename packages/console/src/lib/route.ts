/** A tiny hash router: #/alerts, #/alerts/12, #/upload, #/threshold, #/accounts, #/segments, #/anonymise. */
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'alerts' }
  | { page: 'alert'; id: number }
  | { page: 'upload' }
  | { page: 'threshold' }
  | { page: 'accounts' }
  | { page: 'segments' }
  | { page: 'anonymise' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'alerts' && parts[1] && /^\d+$/.test(parts[1])) return { page: 'alert', id: Number(parts[1]) };
  if (parts[0] === 'upload') return { page: 'upload' };
  if (parts[0] === 'threshold') return { page: 'threshold' };
  if (parts[0] === 'accounts') return { page: 'accounts' };
  if (parts[0] === 'segments') return { page: 'segments' };
  if (parts[0] === 'anonymise') return { page: 'anonymise' };
  return { page: 'alerts' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(hash: string): void {
  window.location.hash = hash;
}
