/**
 * The quarantine rule (quarantine.ts) kept round by round: each bank's streak of consecutive
 * excluded updates, updated as a round commits, in O(banks in that round). The federation keeps
 * one in memory and rebuilds it from the store (`replay`) only at start-up, after a lift and
 * after the rule changes. Before, it re-read the last QUARANTINE_HISTORY_ROUNDS stored rounds,
 * twice a round, and scanned them once per bank: at 1,000 banks that is half a million bank
 * entries decoded per round (bench/RESULTS.md, issue 14, quarantine).
 *
 * Pure and deterministic. test/quarantine-ledger.test.ts checks it against a brute-force reference
 * (every bank's streak recounted over all rounds) on random histories with lifts and stored
 * quarantines, committed one by one and replayed.
 */
import type { QuarantineView } from '@finsecure/common/api';
import {
  excludedIn,
  type QuarantineLift,
  type QuarantineHeld,
  type QuarantineLifts,
  type QuarantineState,
  type RoundLike,
} from './quarantine.js';

export class QuarantineLedger {
  private readonly states = new Map<string, QuarantineState>();
  /** Id of the newest committed round applied; older or repeated ids are ignored. */
  private lastRoundId = -Infinity;

  /**
   * @param afterExclusions the rule; null or ≤ 0: nobody is quarantined (streaks are still counted).
   * @param lifts bankId → its last lift: rounds up to `afterRound` do not count for that bank.
   * @param held quarantines stored when they began (QUARANTINE_HELD_SETTING): they hold until a
   *   lift after them, even once their rounds are older than the history a replay reads.
   */
  constructor(
    readonly afterExclusions: number | null,
    private readonly lifts: Readonly<QuarantineLifts> = {},
    held: Readonly<QuarantineHeld> = {},
  ) {
    if (!this.active) return;
    for (const [bankId, h] of Object.entries(held)) {
      if (h.sinceRound > (lifts[bankId]?.afterRound ?? -Infinity))
        this.states.set(bankId, { quarantined: true, streak: h.streak, sinceRound: h.sinceRound });
    }
  }

  /** A ledger over stored rounds (any order, any status: only committed ones count). */
  static replay(
    rounds: readonly RoundLike[],
    lifts: Readonly<QuarantineLifts>,
    held: Readonly<QuarantineHeld>,
    afterExclusions: number | null,
  ): QuarantineLedger {
    const ledger = new QuarantineLedger(afterExclusions, lifts, held);
    for (const r of [...rounds].sort((a, b) => a.id - b.id)) ledger.commit(r);
    return ledger;
  }

  /**
   * Counts a committed round (others, and ids not newer than the last one counted, are ignored).
   * @returns the banks whose streak this round completed, by bank id, with that streak.
   */
  commit(round: RoundLike): { bankId: string; streak: number }[] {
    if (round.status !== 'committed' || round.id <= this.lastRoundId) return [];
    this.lastRoundId = round.id;
    const newly: { bankId: string; streak: number }[] = [];
    for (const bankId of Object.keys(round.banks).sort()) {
      const excluded = excludedIn(round, bankId);
      if (excluded === null || round.id <= (this.lifts[bankId]?.afterRound ?? -Infinity)) continue;
      const s = this.stateOf(bankId);
      // Once quarantined it stays so until lifted, whatever later rounds hold.
      if (s.quarantined) continue;
      const streak = excluded ? s.streak + 1 : 0;
      const quarantined = this.active && streak >= this.afterExclusions!;
      this.states.set(bankId, { quarantined, streak, sinceRound: quarantined ? round.id : null });
      if (quarantined) newly.push({ bankId, streak });
    }
    return newly;
  }

  /** The bank's state (a bank never counted: not quarantined, streak 0). */
  stateOf(bankId: string): QuarantineState {
    return this.states.get(bankId) ?? { quarantined: false, streak: 0, sinceRound: null };
  }

  /** Every quarantined bank, with the round that completed its streak. */
  quarantined(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [bankId, s] of [...this.states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      if (s.quarantined) out.set(bankId, s.sinceRound!);
    return out;
  }

  private get active(): boolean {
    return this.afterExclusions !== null && this.afterExclusions > 0;
  }
}

/** The view GET /api/banks/:id returns, from a ledger and the bank's lift. */
export function quarantineView(
  ledger: QuarantineLedger,
  bankId: string,
  lift: QuarantineLift | undefined,
): QuarantineView {
  return { afterExclusions: ledger.afterExclusions, ...ledger.stateOf(bankId), lifted: lift ?? null };
}
