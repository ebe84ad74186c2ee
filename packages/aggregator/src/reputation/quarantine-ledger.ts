/**
 * The quarantine rule (quarantine.ts) kept round by round, in O(banks in the round) per round.
 * The federation keeps one in memory and rebuilds it from the store (`replay`) only at start-up,
 * after a lift and after the rule changes. Before, it re-read the last QUARANTINE_HISTORY_ROUNDS
 * stored rounds twice a round and recounted every bank over them: at 1,000 banks, half a million
 * bank entries decoded per round (bench/RESULTS.md, "The quarantine rule's cost per round").
 *
 * What it decides is what that recount decided when a round committed: a bank is quarantined
 * when, over the last `window` rounds counted (stored, committed or failed) up to and including
 * the round just counted, its last `afterExclusions` updates (in committed rounds, after its last
 * lift) were all excluded. The window counts rounds, not ids: an id handed out to a round that was
 * never stored (the aggregator stopped before it was written) does not narrow it, so the live
 * ledger and a replay of the last `window` stored rounds agree. Each bank keeps its current run of
 * exclusions; rounds that leave the window are dropped.
 * Unlike the recount, a quarantine does not lapse when its rounds leave the window: the
 * federation stores it as it begins (QuarantineHeld) and a replay honours the stored ones; and a
 * replay under a lowered rule looks only at each bank's current run, not at runs that ended.
 *
 * Pure and deterministic. test/quarantine-ledger.test.ts checks it, round by round, against a
 * brute-force recount over the window on random histories with lifts and rule changes.
 */
import type { QuarantineView } from '@finsecure/common/api';
import {
  excludedIn,
  QUARANTINE_HISTORY_ROUNDS,
  type QuarantineHeld,
  type QuarantineLift,
  type QuarantineLifts,
  type QuarantineState,
  type RoundLike,
} from './quarantine.js';

interface BankEntry {
  /** Set once quarantined: the round that completed the streak, and the streak then. */
  held: { sinceRound: number; streak: number } | null;
  /**
   * The bank's consecutive excluded rounds since its last included one (ascending): each one's id
   * and its position among the rounds counted (what the window is measured in).
   */
  run: { id: number; at: number }[];
}

export class QuarantineLedger {
  private readonly banks = new Map<string, BankEntry>();
  /** Id of the newest round counted (committed or not): older ids are ignored. */
  private newest = -Infinity;
  /** How many rounds have been counted: the newest one's position; the window ends there. */
  private counted = 0;

  /**
   * @param afterExclusions the rule; null or ≤ 0: nobody is quarantined (streaks are still counted).
   * @param lifts bankId → its last lift: rounds up to `afterRound` do not count for that bank.
   * @param held the stored quarantines (QUARANTINE_HELD_SETTING). One holds while the rule is
   *   on and its streak still meets it, until a lift after it.
   * @param window rounds (counted, not ids) a streak is counted over: the recount read this many
   *   stored rounds.
   */
  constructor(
    readonly afterExclusions: number | null,
    private readonly lifts: Readonly<QuarantineLifts> = {},
    held: Readonly<QuarantineHeld> = {},
    private readonly window = QUARANTINE_HISTORY_ROUNDS,
  ) {
    if (!this.active) return;
    for (const [bankId, h] of Object.entries(held)) {
      if (h.streak >= afterExclusions! && h.sinceRound > (lifts[bankId]?.afterRound ?? -Infinity))
        this.banks.set(bankId, { held: { sinceRound: h.sinceRound, streak: h.streak }, run: [] });
    }
  }

  /**
   * A ledger over stored rounds (any order; finished ones move the window, committed ones are
   * counted, rounds still in flight are skipped). A bank
   * not quarantined already is quarantined when its current run of exclusions meets the rule, as of
   * the round at which the run reached it; an older run that an included round broke does not
   * count (a rule lowered later does not reach back into it).
   */
  static replay(
    rounds: readonly RoundLike[],
    lifts: Readonly<QuarantineLifts>,
    held: Readonly<QuarantineHeld>,
    afterExclusions: number | null,
    window = QUARANTINE_HISTORY_ROUNDS,
  ): QuarantineLedger {
    const ledger = new QuarantineLedger(afterExclusions, lifts, held, window);
    // Only finished rounds: a round still in flight is saved as it goes, and counting it here
    // would make its own commit, later, look already counted.
    const finished = rounds.filter((r) => r.status === 'committed' || r.status === 'failed');
    for (const r of [...finished].sort((a, b) => a.id - b.id)) ledger.count(r);
    if (!ledger.active) return ledger;
    const rule = afterExclusions!;
    for (const e of ledger.banks.values()) {
      ledger.prune(e);
      if (!e.held && e.run.length >= rule) {
        e.held = { sinceRound: e.run[rule - 1]!.id, streak: rule };
        e.run = [];
      }
    }
    return ledger;
  }

  /**
   * Counts a round: a committed one's updates; any round moves the window on by one. Ids not
   * newer than the last one counted are ignored.
   * @returns the banks this round quarantined (its exclusion completed their run), by bank id,
   *   with their streak.
   */
  commit(round: RoundLike): { bankId: string; streak: number }[] {
    const excluded = this.count(round);
    const newly: { bankId: string; streak: number }[] = [];
    if (!this.active) return newly;
    for (const bankId of excluded) {
      const e = this.banks.get(bankId)!;
      if (e.run.length >= this.afterExclusions!) {
        e.held = { sinceRound: round.id, streak: e.run.length };
        e.run = [];
        newly.push({ bankId, streak: e.held.streak });
      }
    }
    return newly;
  }

  /** Counts a round's updates into the runs; returns the banks it excluded (sorted). */
  private count(round: RoundLike): string[] {
    if (round.id <= this.newest) return [];
    this.newest = round.id;
    this.counted++;
    if (round.status !== 'committed') return [];
    const out: string[] = [];
    for (const bankId of Object.keys(round.banks).sort()) {
      const excluded = excludedIn(round, bankId);
      if (excluded === null || round.id <= (this.lifts[bankId]?.afterRound ?? -Infinity)) continue;
      let e = this.banks.get(bankId);
      if (!e) this.banks.set(bankId, (e = { held: null, run: [] }));
      // Once quarantined it stays so until lifted, whatever later rounds hold.
      if (e.held) continue;
      if (!excluded) {
        e.run = [];
        continue;
      }
      e.run.push({ id: round.id, at: this.counted });
      this.prune(e);
      out.push(bankId);
    }
    return out;
  }

  /** The bank's state (a bank never counted: not quarantined, streak 0). */
  stateOf(bankId: string): QuarantineState {
    const e = this.banks.get(bankId);
    if (e?.held) return { quarantined: true, streak: e.held.streak, sinceRound: e.held.sinceRound };
    if (e) this.prune(e);
    return { quarantined: false, streak: e?.run.length ?? 0, sinceRound: null };
  }

  /** Every quarantined bank, by bank id, with the round that completed its streak and the streak. */
  quarantined(): Map<string, { sinceRound: number; streak: number }> {
    const out = new Map<string, { sinceRound: number; streak: number }>();
    for (const id of [...this.banks.keys()].sort()) {
      const held = this.banks.get(id)!.held;
      if (held) out.set(id, { ...held });
    }
    return out;
  }

  /** Drops the run's rounds that are out of the window: the last `window` rounds counted. */
  private prune(e: BankEntry): void {
    const oldest = this.counted - this.window;
    let k = 0;
    while (k < e.run.length && e.run[k]!.at <= oldest) k++;
    if (k > 0) e.run.splice(0, k);
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
