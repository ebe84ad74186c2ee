/**
 * A committed round as the store keeps it, for tests that write a federation's history straight
 * into the store (as an older aggregator left it) instead of playing the rounds.
 */
import type { RoundRecord } from '@finsecure/common/api';

/**
 * Round `id` over `banks`: those in `excluded` left out by the strategy (a Multi-Krum reason),
 * those in `absent` not in the round at all (a quarantined bank is not selected); the others
 * weighted alike.
 */
export function storedRound(
  banks: readonly string[],
  id: number,
  excluded: readonly string[],
  absent: readonly string[] = [],
): RoundRecord {
  const present = banks.filter((b) => !absent.includes(b));
  return {
    id,
    status: 'committed',
    startedAt: id * 1000,
    endedAt: id * 1000 + 500,
    config: {},
    selected: present,
    participants: present,
    banks: Object.fromEntries(
      present.map((b) => [
        b,
        excluded.includes(b)
          ? { bytesUp: 1, bytesDown: 1, weight: 0, reputation: { excluded: 'multikrum: not among the lowest' } }
          : { bytesUp: 1, bytesDown: 1, weight: 0.25 },
      ]),
    ),
    durations: {},
    baseModelVersion: id - 1,
    modelVersion: id,
    metrics: null,
    failureReason: null,
  };
}
