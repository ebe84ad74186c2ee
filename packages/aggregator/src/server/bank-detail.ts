/**
 * One bank's detail for GET /api/banks/:id (its live view, its round history with reputation,
 * its quarantine state) and the admin's quarantine lift. Reads the stored rounds: a bank's
 * history is its entries in them (reputation/), so nothing else is stored per bank; the lift
 * list and the quarantines as they began are store settings (QUARANTINE_LIFTS_SETTING,
 * QUARANTINE_HELD_SETTING). A lift tells the federation, which rebuilds its count from them.
 */
import type { BankDetailView, BankRoundHistory, QuarantineView, RoundRecord } from '@finsecure/common/api';
import {
  QUARANTINE_HELD_SETTING,
  QUARANTINE_HISTORY_ROUNDS,
  QUARANTINE_LIFTS_SETTING,
  QuarantineLedger,
  quarantineView,
  type QuarantineLift,
} from '../reputation/index.js';
import { quarantineSettings } from '../federation/quarantine.js';
import type { ServerContext } from './context.js';
import { bankViewForJson } from './epsilon.js';

function historyEntry(r: RoundRecord, bankId: string): BankRoundHistory {
  const b = r.banks[bankId]!;
  return {
    roundId: r.id,
    startedAt: r.startedAt,
    status: r.status,
    weight: b.weight ?? null,
    rejected: b.rejected ?? null,
    reputation: b.reputation ?? null,
  };
}

async function quarantineOfBank(ctx: ServerContext, bankId: string, rounds: RoundRecord[]): Promise<QuarantineView> {
  const { lifts, held } = await quarantineSettings(ctx.store);
  const rule = ctx.federation.getSettings().rules.quarantineAfterExclusions ?? null;
  // The same count the federation keeps for selection, replayed over the stored rounds.
  return quarantineView(QuarantineLedger.replay(rounds, lifts, held, rule), bankId, lifts[bankId]);
}

/**
 * The bank's detail, or null for an unknown id.
 * @param limit how many of its rounds (those it was selected for or sent to), newest first.
 */
export async function bankDetail(ctx: ServerContext, bankId: string, limit: number): Promise<BankDetailView | null> {
  const bank = await ctx.store.getBank(bankId);
  if (!bank) return null;
  const rounds = await ctx.store.listRounds({ limit: QUARANTINE_HISTORY_ROUNDS });
  const history = rounds
    .filter((r) => r.banks[bankId] !== undefined)
    .slice(0, limit)
    .map((r) => historyEntry(r, bankId));
  const view = bankViewForJson(await ctx.federation.bankView(bank));
  return { ...view, quarantine: await quarantineOfBank(ctx, bankId, rounds), history };
}

export type LiftResult =
  | { kind: 'not_found' }
  | { kind: 'not_quarantined'; message: string }
  | { kind: 'lifted'; result: { id: string; lifted: QuarantineLift } };

/**
 * Lifts the bank's quarantine: rounds up to the newest stored one no longer count, so it is
 * selected again from the next round. Audited as `bank.quarantine_lifted`. Refused (409) when
 * the bank is not quarantined, so an audit entry always means a real lift.
 */
export async function liftQuarantine(ctx: ServerContext, bankId: string, actor: string): Promise<LiftResult> {
  if (!(await ctx.store.getBank(bankId))) return { kind: 'not_found' };
  // On the federation's queue: no round step runs meanwhile, and selection recounts afterwards.
  return ctx.federation.changeQuarantine(async (): Promise<LiftResult> => {
    const rounds = await ctx.store.listRounds({ limit: QUARANTINE_HISTORY_ROUNDS });
    const q = await quarantineOfBank(ctx, bankId, rounds);
    if (!q.quarantined)
      return {
        kind: 'not_quarantined',
        message:
          q.afterExclusions === null
            ? `bank "${bankId}" is not quarantined (the rule quarantineAfterExclusions is off)`
            : `bank "${bankId}" is not quarantined (${q.streak} of ${q.afterExclusions} consecutive excluded rounds)`,
      };
    const lift: QuarantineLift = { at: Date.now(), by: actor, afterRound: await ctx.store.maxRoundId() };
    const { lifts, held } = await quarantineSettings(ctx.store);
    await ctx.store.setSetting(QUARANTINE_LIFTS_SETTING, { ...lifts, [bankId]: lift });
    if (held[bankId]) {
      delete held[bankId];
      await ctx.store.setSetting(QUARANTINE_HELD_SETTING, held);
    }
    await ctx.federation.audit('bank.quarantine_lifted', actor, {
      bankId,
      sinceRound: q.sinceRound,
      streak: q.streak,
      afterRound: lift.afterRound,
    });
    return { kind: 'lifted', result: { id: bankId, lifted: lift } };
  });
}
