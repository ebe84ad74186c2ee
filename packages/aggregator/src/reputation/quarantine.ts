/**
 * Quarantine (round rule `quarantineAfterExclusions`, off by default): a bank whose update the
 * strategy excluded in that many consecutive committed rounds is not selected again until an
 * admin lifts the quarantine (POST /api/banks/:id/quarantine/lift, audited). Pure: a function of
 * the stored rounds (the bank's reputation entries), the persisted lift list (the store setting
 * QUARANTINE_LIFTS_SETTING) and the quarantines stored as they began (QUARANTINE_HELD_SETTING),
 * counted by QuarantineLedger (quarantine-ledger.ts). This file holds the terms and the stored
 * settings' shapes.
 *
 * Counting: only committed rounds in which the strategy received the bank's update count (the
 * bank has a `weight`); a round it sat out (not selected, no update in time, refused by the
 * aggregator's own checks) neither extends nor breaks the streak. Excluded = the strategy gave it
 * weight 0 or says why it left it out. A lift restarts the count after the last round before it.
 */
import type { RoundRecord } from '@finsecure/common/api';

/** Store setting holding the lift list: bankId → the last lift. */
export const QUARANTINE_LIFTS_SETTING = 'quarantineLifts';
/**
 * Stored quarantines (QuarantineHeld), written as each begins: one holds until a lift after it,
 * however old its rounds, while the rule is on and its streak still meets the rule.
 */
export const QUARANTINE_HELD_SETTING = 'quarantineHeld';
/**
 * Rounds a streak is counted over (quarantine-ledger.ts), and the stored rounds a replay reads (at
 * start-up, after a lift, after the rule changes).
 */
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
/** bankId → the quarantine stored when the round `sinceRound` completed its streak. */
export type QuarantineHeld = Record<string, { sinceRound: number; streak: number }>;

export interface QuarantineState {
  quarantined: boolean;
  streak: number;
  sinceRound: number | null;
}

export type RoundLike = Pick<RoundRecord, 'id' | 'status' | 'banks'>;

/** Whether the strategy excluded the bank's update in this round; null: it had no update there. */
export function excludedIn(round: RoundLike, bankId: string): boolean | null {
  const b = round.banks[bankId];
  if (!b || b.weight === undefined) return null;
  return b.weight === 0 || b.reputation?.excluded !== undefined;
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

/** Validates the stored quarantines (they come from the store: never trust their shape). */
export function parseHeld(value: unknown): QuarantineHeld {
  const out: QuarantineHeld = {};
  if (!value || typeof value !== 'object') return out;
  for (const [id, v] of Object.entries(value as Record<string, unknown>)) {
    const h = v as Partial<QuarantineHeld[string]> | null;
    if (h && Number.isInteger(h.sinceRound) && Number.isInteger(h.streak))
      out[id] = { sinceRound: h.sinceRound!, streak: h.streak! };
  }
  return out;
}
