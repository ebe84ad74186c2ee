/**
 * Tells the person, visibly, when the live link or the API is down and what the page does about it,
 * or that the aggregator refused the live link to this session (and why).
 */
import type { ApiError } from '../lib/api';
import type { LiveStatus } from '../lib/live';
import { formatAgo } from '../lib/format';

export function ConnectionBanner({ live, error, now }: { live: LiveStatus; error: ApiError | null; now: number }) {
  if (live.state === 'refused')
    return (
      <div className="banner banner-warn" role="status" aria-live="polite" data-testid="connection-banner">
        <div>
          <strong>Live updates are off.</strong>{' '}
          <span>
            The aggregator will not stream events to this session: {live.refusal}. The figures below are as of when the
            page loaded; reload the page to see newer ones.
          </span>
        </div>
      </div>
    );
  const apiDown = !!error && error.unreachable;
  const linkDown = live.state === 'reconnecting';
  if (!apiDown && !linkDown) return null;
  const retryIn = live.retryAt ? Math.max(0, Math.ceil((live.retryAt - now) / 1000)) : null;
  return (
    <div className="banner banner-warn" role="status" aria-live="polite" data-testid="connection-banner">
      <span className="pulse" aria-hidden />
      <div>
        <strong>Disconnected from the aggregator, reconnecting…</strong>{' '}
        <span>
          {live.everOpen
            ? `Live updates stopped ${formatAgo(live.lostAt, now)}.`
            : 'The live event stream could not be opened.'}{' '}
          {linkDown && retryIn !== null ? `Next attempt in ${retryIn} s (attempt ${live.attempt}).` : 'Retrying.'} The
          figures below may be out of date; the page catches up by itself once the aggregator is back.
        </span>
      </div>
    </div>
  );
}
