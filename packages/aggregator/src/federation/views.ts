/**
 * What the federation shows: the status line, "k of n banks reported", each bank's view, and
 * their publication on the live event stream (the dashboard's /ws/events).
 */
import type { BankView, RoundRecord, StatusView } from '@finsecure/common/api';
import * as machine from '../round/machine.js';
import type { BankRecord } from '../store/types.js';
import { statsOf, type Core } from './core.js';

export function status(core: Core): StatusView {
  const a = core.active;
  const stage = a ? machine.currentStage(a.state) : null;
  const now = core.opts.clock.now();
  return {
    state: core.state,
    currentRound: a
      ? {
          id: a.state.roundId,
          phase: a.state.phase,
          progress: stage
            ? stage.progress(now)
            : { asked: 0, reported: 0, dropped: 0, reportedBanks: [], closesInMs: null },
        }
      : null,
    modelVersion: core.globalVersion,
    connectedBanks: core.sessions.size,
    roundsCompleted: core.roundsCompleted,
    roundsFailed: core.roundsFailed,
    roundsConfigured: core.settings.rules.rounds,
  };
}

export function bankView(core: Core, bank: BankRecord): BankView {
  const session = core.sessions.get(bank.id);
  const st = statsOf(core, bank.id);
  const eps = core.ledger.epsilonOf(bank.id, core.settings.training.dp?.delta ?? 1e-5);
  return {
    id: bank.id,
    name: bank.name,
    createdAt: bank.createdAt,
    lastSeenAt: session ? session.lastMessageAt : bank.lastSeenAt,
    revoked: bank.revokedAt !== null,
    connected: !!session,
    numExamples: session?.hello.numExamples ?? null,
    numTestExamples: session?.hello.numTestExamples ?? null,
    backend: session?.hello.backend ?? null,
    roundsParticipated: st.rounds,
    lastUpdateBytes: st.lastUpdateBytes,
    epsilon: eps,
    epsilonBudget: session?.hello.dp?.epsilonBudget ?? core.settings.training.dp?.epsilonBudget ?? null,
    rejections: st.rejections,
    health: core.health.get(bank.id) ?? null,
    lastRefusal: session ? null : (core.refusals[bank.id] ?? null),
  };
}

// Nobody listening (no dashboard stream, no job): the copy of the record, or the status with its
// list of the banks that reported, would be built for nothing, once or more per round.
export function publishRound(core: Core, record: RoundRecord): void {
  if (core.opts.events.size === 0) return;
  core.opts.events.publish({ type: 'round', round: structuredClone(record) });
}

/** The settings changed: pages re-read them (they are not sent: a viewer may not read them all). */
export function publishSettings(core: Core): void {
  if (core.opts.events.size === 0) return;
  core.opts.events.publish({ type: 'settings', changedAt: core.opts.clock.now() });
}

export function publishStatus(core: Core): void {
  if (core.opts.events.size === 0) return;
  core.opts.events.publish({ type: 'status', status: status(core) });
}

/**
 * Live "k of n banks reported". Published at most every 250 ms of the aggregator's clock, so a
 * round with thousands of banks does not publish thousands of status events; the last answer
 * of a stage is always published.
 */
export function publishProgress(core: Core): void {
  if (core.opts.events.size === 0 || !core.active) return;
  const now = core.opts.clock.now();
  const stage = machine.currentStage(core.active.state);
  const last = !stage || stage.pendingCount === 0;
  if (!last && now - core.lastProgressAt < 250) return;
  core.lastProgressAt = now;
  publishStatus(core);
}

export async function publishBank(core: Core, bankId: string): Promise<void> {
  if (core.opts.events.size === 0) return;
  const bank = await core.opts.store.getBank(bankId);
  if (bank) core.opts.events.publish({ type: 'bank', bank: bankView(core, bank) });
}
