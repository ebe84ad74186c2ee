/**
 * Quarantine (round rule `quarantineAfterExclusions`, off by default): a bank whose update the
 * strategy excluded in that many consecutive committed rounds is not selected again until an
 * admin lifts the quarantine (POST /api/banks/:id/quarantine/lift, audited). Pure: a function of
 * the stored rounds (the bank's reputation entries) and the persisted lift list (the store
 * setting QUARANTINE_LIFTS_SETTING).
 *
 * Counting: only committed rounds in which the strategy received the bank's update count (the
 * bank has a `weight`); a round it sat out (not selected, no update in time, refused by the
 * aggregator's own checks) neither extends nor breaks the streak. Excluded = the strategy gave it
 * weight 0 or says why it left it out. A lift restarts the count after the last round before it.
 */
import type { QuarantineView, RoundRecord } from '@finsecure/common/api';

/** Store setting holding the lift list: bankId → the last lift. */
export const QUARANTINE_LIFTS_SETTING = 'quarantineLifts';
/** Stored rounds read to decide quarantines (a streak longer than this is not seen). */
export const QUARANTINE_HISTORY_ROUNDS = 500;

export interface QuarantineLift {
  /** Unix ms. */
  at: number;
  /** Who lifted it (username or token name). */
  by: string;
  /** Rounds up to and including this id no longer count. */
  afterRound: number;
}
export type QuarantineLifts = Record<string, QuarantineLift>;

export interface QuarantineState {
  quarantined: boolean;
  streak: number;
  sinceRound: number | null;
}

type RoundLike = Pick<RoundRecord, 'id' | 'status' | 'banks'>;

/** Whether the strategy excluded the bank's update in this round; null: it had no update there. */
export function excludedIn(round: RoundLike, bankId: string): boolean | null {
  const b = round.banks[bankId];
  if (!b || b.weight === undefined) return null;
  return b.weight === 0 || b.reputation?.excluded !== undefined;
}

/**
 * The bank's quarantine state.
 * @param rounds stored rounds in any order (only committed ones after the lift count).
 * @param afterExclusions the rule; null or ≤ 0: never quarantined (the streak is still counted).
 */
export function quarantineOf(
  bankId: string,
  rounds: readonly RoundLike[],
  lift: QuarantineLift | undefined,
  afterExclusions: number | null,
): QuarantineState {
  const counted = rounds
    .filter((r) => r.status === 'committed' && r.id > (lift?.afterRound ?? -Infinity))
    .sort((a, b) => a.id - b.id);
  let streak = 0;
  for (const r of counted) {
    const ex = excludedIn(r, bankId);
    if (ex === null) continue;
    streak = ex ? streak + 1 : 0;
    // Once quarantined it stays so until lifted, whatever later rounds hold.
    if (afterExclusions !== null && afterExclusions > 0 && streak >= afterExclusions)
      return { quarantined: true, streak, sinceRound: r.id };
  }
  return { quarantined: false, streak, sinceRound: null };
}

/** Every quarantined bank among those the rounds mention, with the round that completed its streak. */
export function quarantinedBanks(
  rounds: readonly RoundLike[],
  lifts: QuarantineLifts,
  afterExclusions: number | null,
): Map<string, number> {
  const out = new Map<string, number>();
  if (afterExclusions === null || afterExclusions <= 0) return out;
  const ids = new Set(rounds.flatMap((r) => Object.keys(r.banks)));
  for (const id of [...ids].sort()) {
    const q = quarantineOf(id, rounds, lifts[id], afterExclusions);
    if (q.quarantined) out.set(id, q.sinceRound!);
  }
  return out;
}

/** The view GET /api/banks/:id returns. */
export function quarantineView(
  bankId: string,
  rounds: readonly RoundLike[],
  lifts: QuarantineLifts,
  afterExclusions: number | null,
): QuarantineView {
  const q = quarantineOf(bankId, rounds, lifts[bankId], afterExclusions);
  return { afterExclusions, ...q, lifted: lifts[bankId] ?? null };
}

/** Validates a stored lift list (it comes from the store: never trust its shape). */
export function parseLifts(value: unknown): QuarantineLifts {
  const out: QuarantineLifts = {};
  if (!value || typeof value !== 'object') return out;
  for (const [id, v] of Object.entries(value as Record<string, unknown>)) {
    const l = v as Partial<QuarantineLift> | null;
    if (l && typeof l.at === 'number' && typeof l.by === 'string' && typeof l.afterRound === 'number')
      out[id] = { at: l.at, by: l.by, afterRound: l.afterRound };
  }
  return out;
}

/**
 * The banks this committed round quarantined (their streak completed in round `roundId`), for
 * the `bank.quarantined` audit entry. `rounds` must include that round.
 */
export function newlyQuarantined(
  rounds: readonly RoundLike[],
  lifts: QuarantineLifts,
  afterExclusions: number | null,
  roundId: number,
): { bankId: string; streak: number }[] {
  const round = rounds.find((r) => r.id === roundId);
  if (!round || afterExclusions === null) return [];
  return Object.keys(round.banks)
    .sort()
    .flatMap((bankId) => {
      const q = quarantineOf(bankId, rounds, lifts[bankId], afterExclusions);
      return q.quarantined && q.sinceRound === roundId ? [{ bankId, streak: q.streak }] : [];
    });
}
