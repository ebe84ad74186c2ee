/**
 * When a page reads its data again. The console has no live stream: what other analysts decide,
 * what real-time scoring flags and what the daemon's rounds change reaches a page when the window
 * gets the focus back (the analyst returns to it), and, where `everyMs` is given, now and then.
 */
import { useEffect, useState } from 'react';

/** A number that grows at each window focus (and every `everyMs`): put it in a load's dependencies. */
export function useRefreshTick(everyMs?: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const again = () => setTick((n) => n + 1);
    window.addEventListener('focus', again);
    const timer = everyMs ? setInterval(again, everyMs) : undefined;
    return () => {
      window.removeEventListener('focus', again);
      clearInterval(timer);
    };
  }, [everyMs]);
  return tick;
}
