/**
 * Who may see which live event on /ws/events. A stream outlives the request that opened it, so
 * each event is checked against the caller's permissions as it is sent, with the same rule as
 * the REST route that serves the same data; and the caller is looked up again before an event
 * goes out once the last look-up is older than LIVE_RECHECK_MS, or at once after an audit entry
 * that may have changed what the caller holds (a logout, a disabled account, a new role, a
 * revoked token). Pure: no IO, no clock.
 */
import type { LiveEvent } from '@finsecure/common/api';
import type { Permission } from '@finsecure/accounts';

/** A caller of the live stream looked up no longer ago than this is not looked up again, ms. */
export const LIVE_RECHECK_MS = 30_000;

/**
 * The permission an event needs: that of the route serving the same data. `status` and
 * `round`: GET /api/status and GET /api/rounds (charts.read: the viewer's charts are drawn from
 * them); `bank`: GET /api/banks (banks.read); `audit`: GET /api/audit (audit.read).
 */
export function eventPermission(event: LiveEvent): Permission {
  switch (event.type) {
    case 'status':
    case 'round':
    case 'settings':
    case 'role':
      return 'charts.read';
    case 'bank':
      return 'banks.read';
    case 'audit':
      return 'audit.read';
  }
}

/** Audit entries after which a stream's caller may hold less than it did (or nothing). */
const ACCESS_CHANGES = new Set(['auth.logout', 'auth.session_expired', 'token.revoked']);

/** Whether `event` records a change to accounts, sessions or tokens: re-check every caller first. */
export function changesAccess(event: LiveEvent): boolean {
  return event.type === 'audit' && (event.entry.type.startsWith('user.') || ACCESS_CHANGES.has(event.entry.type));
}

/**
 * Whether the caller must be looked up again before `event` is sent.
 * @param checkedAt when the caller was last looked up (ms, the stream's clock)
 * @param now the same clock now (ms)
 */
export function needsRecheck(event: LiveEvent, checkedAt: number, now: number): boolean {
  return changesAccess(event) || now - checkedAt >= LIVE_RECHECK_MS;
}
