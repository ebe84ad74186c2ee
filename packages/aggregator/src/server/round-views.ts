/**
 * What of a round a caller without `rounds.read` is shown (a viewer: "the charts only"). The
 * dashboard's charts (overview, model quality, communication, timing, privacy) are drawn from
 * the rounds list and the live `round` events, which a viewer may read (charts.read); the full
 * record also says why each bank was rejected or dropped and how its update compared with the
 * others', which is what `rounds.read` (GET /api/rounds/:id) and `banks.read` guard (auth review:
 * a viewer read them through the list). Pure.
 */
import type { RoundRecord } from '@finsecure/common/api';
import type { Permission } from '@finsecure/accounts';

/**
 * `round` without what only the round's full record shows: each bank's `rejected` reason and
 * `reputation`, and the round's `stages` (who dropped out of each, and why). A new object; the
 * record is not changed.
 */
export function roundForCharts(round: RoundRecord): RoundRecord {
  const banks: RoundRecord['banks'] = {};
  for (const [id, stats] of Object.entries(round.banks)) {
    const { rejected: _rejected, reputation: _reputation, ...chart } = stats;
    banks[id] = chart;
  }
  const { stages: _stages, ...rest } = round;
  return { ...rest, banks };
}

/**
 * The round as `permissions` may see it: in full with `rounds.read`, else roundForCharts. No
 * permissions (no caller: the server runs without authentication) is the full record.
 */
export function roundFor(round: RoundRecord, permissions: ReadonlySet<Permission> | undefined): RoundRecord {
  return !permissions || permissions.has('rounds.read') ? round : roundForCharts(round);
}
