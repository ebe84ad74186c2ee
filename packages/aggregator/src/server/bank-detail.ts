/**
 * One bank's detail for GET /api/banks/:id (its live view, its round history with reputation,
 * its quarantine state) and the admin's quarantine lift. The history is the bank's entries in the
 * stored rounds (reputation/), so nothing else is stored per bank; the quarantine state and the
 * lift are the federation's (federation/quarantine.ts), so the view is what selection uses.
 */
import type { BankDetailView, BankRoundHistory, RoundRecord } from '@finsecure/common/api';
import { QUARANTINE_HISTORY_ROUNDS } from '../reputation/index.js';
import type * as quarantine from '../federation/quarantine.js';
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
  return { ...view, quarantine: await ctx.federation.quarantineView(bankId), history };
}

export type LiftResult = { kind: 'not_found' } | quarantine.LiftResult;

/** Lifts the bank's quarantine (federation/quarantine.ts liftQuarantine), or says why not. */
export async function liftQuarantine(ctx: ServerContext, bankId: string, actor: string): Promise<LiftResult> {
  if (!(await ctx.store.getBank(bankId))) return { kind: 'not_found' };
  return ctx.federation.liftQuarantine(bankId, actor);
}
