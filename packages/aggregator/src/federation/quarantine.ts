/**
 * The federation's quarantine ledger (reputation/quarantine-ledger.ts): built from the store when
 * first needed and again after a lift or a change of the rule, then kept up to date by each
 * committed round. Selection reads it; the commit counts the round into it and audits and stores
 * the quarantines the round began.
 */
import * as q from '../reputation/index.js';
import type { RoundRecord } from '@finsecure/common/api';
import type { Store } from '../store/types.js';
import { audit, type Core } from './core.js';

/** Rebuilds attempted while lifts keep arriving before one is kept (then the last is used once). */
const MAX_REBUILDS = 3;

/**
 * The ledger for the rule in force, or null when the rule is off.
 * @param beforeRoundId a rebuild counts only stored rounds older than this one (the commit passes
 *   its own round, which it then counts itself, so that it sees which quarantines that round began).
 */
export async function quarantineLedger(core: Core, beforeRoundId = Infinity): Promise<q.QuarantineLedger | null> {
  const rule = core.settings.rules.quarantineAfterExclusions;
  if (rule === null) return null;
  let ledger: q.QuarantineLedger | null = null;
  for (let attempt = 0; attempt < MAX_REBUILDS; attempt++) {
    const cached = core.quarantine;
    if (cached && cached.afterExclusions === rule) return cached;
    const generation = core.quarantineGeneration;
    const rounds = await core.opts.store.listRounds({ limit: q.QUARANTINE_HISTORY_ROUNDS });
    const { lifts, held } = await quarantineSettings(core.opts.store);
    ledger = q.QuarantineLedger.replay(
      rounds.filter((r) => r.id < beforeRoundId),
      lifts,
      held,
      rule,
    );
    // A lift while the store was read: the ledger may predate it, so read again.
    if (generation === core.quarantineGeneration) {
      core.quarantine = ledger;
      return ledger;
    }
  }
  return ledger;
}

/** The stored lift list and quarantines, validated (reputation/quarantine.ts). */
export async function quarantineSettings(store: Store): Promise<{ lifts: q.QuarantineLifts; held: q.QuarantineHeld }> {
  return {
    lifts: q.parseLifts(await store.getSetting(q.QUARANTINE_LIFTS_SETTING)),
    held: q.parseHeld(await store.getSetting(q.QUARANTINE_HELD_SETTING)),
  };
}

/** Forget the ledger: the next round rebuilds it from the store (after a lift). */
export function quarantineChanged(core: Core): void {
  core.quarantine = null;
  core.quarantineGeneration++;
}

/**
 * Counts a committed round; audits (`bank.quarantined`) and stores the quarantines it began.
 * With the rule off the ledger is dropped: rounds committed meanwhile are not counted into it.
 */
export async function countCommittedRound(core: Core, round: RoundRecord): Promise<void> {
  const rule = core.settings.rules.quarantineAfterExclusions;
  const ledger = await quarantineLedger(core, round.id);
  if (!ledger || rule === null) {
    core.quarantine = null;
    return;
  }
  const newly = ledger.commit(round);
  if (newly.length === 0) return;
  const { held } = await quarantineSettings(core.opts.store);
  for (const { bankId, streak } of newly) held[bankId] = { sinceRound: round.id, streak };
  await core.opts.store.setSetting(q.QUARANTINE_HELD_SETTING, held);
  for (const { bankId, streak } of newly)
    await audit(core, 'bank.quarantined', 'system', { bankId, roundId: round.id, streak, afterExclusions: rule });
}
