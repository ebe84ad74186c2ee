/**
 * The federation's quarantine ledger (reputation/quarantine-ledger.ts): built from the store when
 * first needed and again after a lift or a change of the rule, then kept up to date by each round.
 * Selection reads it; the commit counts the round into it, and every quarantine it finds, as a
 * round completes a streak or in a rebuild, is stored (QUARANTINE_HELD_SETTING) and audited once, in
 * one write. The first rebuild on a database that never stored them takes the quarantines an older
 * version audited from the audit log instead of auditing them again (keepFirst).
 * Everything here runs on the federation's serial queue, the view and the lift included
 * (Federation quarantineView, liftQuarantine), so a rebuild never races a lift and the view is
 * the state selection uses.
 */
import * as q from '../reputation/index.js';
import type { QuarantineView, RoundRecord } from '@finsecure/common/api';
import type { Store } from '../store/types.js';
import { storeAudited, writeAudited, type Core } from './core.js';

/**
 * The stored lift list and quarantines, validated (reputation/quarantine.ts). `heldStored` is false
 * when QUARANTINE_HELD_SETTING was never written, which `held` ({}) alone cannot tell from none held.
 */
export async function quarantineSettings(
  store: Store,
): Promise<{ lifts: q.QuarantineLifts; held: q.QuarantineHeld; heldStored: boolean }> {
  const held = await store.getSetting(q.QUARANTINE_HELD_SETTING);
  return {
    lifts: q.parseLifts(await store.getSetting(q.QUARANTINE_LIFTS_SETTING)),
    held: q.parseHeld(held),
    heldStored: held !== null,
  };
}

/**
 * The ledger for the rule in force, or null when the rule is off.
 * @param beforeRoundId a rebuild counts only stored rounds older than this one (the commit passes
 *   its own round, which it then counts itself, so that it sees which quarantines that round began).
 */
export async function quarantineLedger(core: Core, beforeRoundId = Infinity): Promise<q.QuarantineLedger | null> {
  const rule = core.settings.rules.quarantineAfterExclusions;
  if (rule === null) return null;
  const cached = core.quarantine;
  if (cached && cached.afterExclusions === rule) return cached;
  const rounds = await core.opts.store.listRounds({ limit: q.QUARANTINE_HISTORY_ROUNDS });
  const { lifts, held, heldStored } = await quarantineSettings(core.opts.store);
  const ledger = q.QuarantineLedger.replay(
    rounds.filter((r) => r.id < beforeRoundId),
    lifts,
    held,
    rule,
  );
  // Quarantines the recount finds that are not stored yet: from before quarantines were stored,
  // from a lower rule, or lost to a crash between a commit and storing its quarantines. Cached
  // only once they are stored: a failure here leaves the next use to rebuild and try again.
  if (heldStored) await keep(core, ledger.quarantined(), held, rule, true);
  else await keepFirst(core, ledger.quarantined(), lifts, rule);
  core.quarantine = ledger;
  return ledger;
}

/** Forget the ledger: the next round rebuilds it from the store. */
export function quarantineChanged(core: Core): void {
  core.quarantine = null;
}

/**
 * Counts a committed round; stores and audits (`bank.quarantined`) the quarantines it began. A
 * failure here is logged and the ledger rebuilt at the next round: the round is committed
 * already, and the rebuild finds and stores what this missed.
 */
export async function countCommittedRound(core: Core, round: RoundRecord): Promise<void> {
  const rule = core.settings.rules.quarantineAfterExclusions;
  try {
    const ledger = await quarantineLedger(core, round.id);
    // With the rule off the ledger is dropped: the rounds committed meanwhile are not counted into it.
    if (!ledger || rule === null) return quarantineChanged(core);
    const newly = ledger.commit(round);
    if (newly.length === 0) return;
    const found = new Map(newly.map((n) => [n.bankId, { sinceRound: round.id, streak: n.streak }]));
    await keep(core, found, (await quarantineSettings(core.opts.store)).held, rule, false);
  } catch (err) {
    core.opts.logger.error({ err, roundId: round.id }, 'could not count the round for the quarantine rule');
    quarantineChanged(core);
  }
}

/**
 * Stores (QUARANTINE_HELD_SETTING) and audits (`bank.quarantined`) the quarantines not stored yet,
 * in one write (writeAudited): a crash keeps both or neither, so the next rebuild neither repeats
 * an entry nor misses one. A failure throws the store's own error: the callers
 * log it (a commit) or let the queue's recovery have it (a selection), and the next use rebuilds.
 * @returns whether anything was new (and so written).
 */
async function keep(
  core: Core,
  found: Map<string, { sinceRound: number; streak: number }>,
  held: q.QuarantineHeld,
  rule: number,
  recounted: boolean,
): Promise<boolean> {
  const fresh = [...found].filter(([bankId, h]) => held[bankId]?.sinceRound !== h.sinceRound);
  if (fresh.length === 0) return false;
  const [first, ...rest] = fresh.map(([bankId, h]) => ({
    type: 'bank.quarantined',
    details: {
      bankId,
      roundId: h.sinceRound,
      streak: h.streak,
      afterExclusions: rule,
      // Found when the ledger was rebuilt rather than as the round committed.
      ...(recounted ? { recounted: true } : {}),
    },
  }));
  const settings = { [q.QUARANTINE_HELD_SETTING]: { ...held, ...Object.fromEntries(fresh) } };
  await writeAudited(core, settings, 'system', first!, ...rest);
  for (const [bankId, h] of fresh) held[bankId] = h;
  return true;
}

/**
 * `keep` for the first rebuild on a database where QUARANTINE_HELD_SETTING was never stored: one
 * an older version wrote (it audited each quarantine as it began and stored nothing), or a new
 * one. A quarantine the recount finds that such an entry already records (same bank, same round)
 * is stored without a second entry; one it never audited is audited once, recounted. Only the
 * quarantines the recount finds are stored, not every entry: the older version let a quarantine
 * lapse once its rounds left the history, and an old entry must not bring one back unannounced.
 * The setting is stored even when nothing is new ({} when nothing is held), so the log is read
 * only this once; a crash before that write just leaves the next rebuild to read it again. A
 * database this version created never comes here: it stores {} at its first start
 * (`noneHeldWithoutRounds`).
 */
async function keepFirst(
  core: Core,
  found: Map<string, { sinceRound: number; streak: number }>,
  lifts: q.QuarantineLifts,
  rule: number,
): Promise<void> {
  const audited = await auditedQuarantines(core.opts.store, lifts);
  const known: q.QuarantineHeld = {};
  for (const [bankId, h] of found) if (audited.get(bankId) === h.sinceRound) known[bankId] = h;
  if (!(await keep(core, found, known, rule, true))) await core.opts.store.setSetting(q.QUARANTINE_HELD_SETTING, known);
}

/**
 * Start-up: with no round stored there is nothing to quarantine and no older version's entry to
 * take over, so "none held" is stored at once, which keepFirst would store at the first rebuild
 * after reading the whole audit log. Without it, a database this version created with the rule off
 * (the default) would read its whole log, on the serial queue, the day an admin turns the rule on.
 */
export async function noneHeldWithoutRounds(store: Store, roundsStored: boolean): Promise<void> {
  if (roundsStored || (await store.getSetting(q.QUARANTINE_HELD_SETTING)) !== null) return;
  await store.setSetting(q.QUARANTINE_HELD_SETTING, {});
}

/** Audit entries read per page by auditedQuarantines (as audit/startup.ts pages the log). */
const AUDIT_PAGE = 5_000;

/**
 * bankId → the round of its newest well-formed `bank.quarantined` entry, leaving out entries up
 * to the bank's lift (`afterRound`, as the ledger reads a stored quarantine). The store cannot
 * select entries by type, so this reads the whole log once, page by page. Bounded: only keepFirst
 * calls it, only while QUARANTINE_HELD_SETTING was never stored, and keepFirst then stores it, so
 * it runs once per upgraded database (again only after a crash before that write), on the serial
 * queue: rounds wait while a long log is read. Memory is one page plus one entry per bank.
 */
async function auditedQuarantines(store: Store, lifts: q.QuarantineLifts): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let afterSeq = 0; ;) {
    const page = await store.listAudit({ afterSeq, limit: AUDIT_PAGE });
    for (const { type, details } of page) {
      const { bankId, roundId, streak } = details;
      if (type !== 'bank.quarantined' || typeof bankId !== 'string') continue;
      if (!Number.isInteger(roundId) || !Number.isInteger(streak)) continue;
      if ((roundId as number) > (lifts[bankId]?.afterRound ?? -Infinity)) out.set(bankId, roundId as number);
    }
    if (page.length < AUDIT_PAGE) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** GET /api/banks/:id's quarantine part: the state selection uses. */
export async function quarantineView(core: Core, bankId: string): Promise<QuarantineView> {
  return viewWith(core, bankId, await quarantineSettings(core.opts.store));
}

async function viewWith(
  core: Core,
  bankId: string,
  { lifts, held }: { lifts: q.QuarantineLifts; held: q.QuarantineHeld },
): Promise<QuarantineView> {
  // With the rule off nothing is quarantined, but the streak is still shown: recounted here.
  const ledger =
    (await quarantineLedger(core)) ??
    q.QuarantineLedger.replay(
      await core.opts.store.listRounds({ limit: q.QUARANTINE_HISTORY_ROUNDS }),
      lifts,
      held,
      null,
    );
  return q.quarantineView(ledger, bankId, lifts[bankId]);
}

export type LiftResult =
  { kind: 'not_quarantined'; message: string } | { kind: 'lifted'; result: { id: string; lifted: q.QuarantineLift } };

/**
 * Lifts the bank's quarantine: rounds up to the newest stored one no longer count for it, so it
 * is selected again from the next round. Audited as `bank.quarantine_lifted`; refused when the
 * bank is not quarantined, so an audit entry always means a real lift. The ledger is rebuilt at
 * the next use.
 */
export async function liftQuarantine(core: Core, bankId: string, actor: string): Promise<LiftResult> {
  const { store } = core.opts;
  const { lifts, held } = await quarantineSettings(store);
  const v = await viewWith(core, bankId, { lifts, held });
  if (!v.quarantined)
    return {
      kind: 'not_quarantined',
      message:
        v.afterExclusions === null
          ? `bank "${bankId}" is not quarantined (the rule quarantineAfterExclusions is off)`
          : `bank "${bankId}" is not quarantined (${v.streak} of ${v.afterExclusions} consecutive excluded rounds)`,
    };
  const lift: q.QuarantineLift = { at: core.opts.clock.now(), by: actor, afterRound: await store.maxRoundId() };
  quarantineChanged(core);
  // Read again: the view's rebuild may have stored quarantines it found.
  const stored = (await quarantineSettings(store)).held;
  const settings: Record<string, unknown> = { [q.QUARANTINE_LIFTS_SETTING]: { ...lifts, [bankId]: lift } };
  if (stored[bankId]) {
    delete stored[bankId];
    settings[q.QUARANTINE_HELD_SETTING] = stored;
  }
  // The lift, the bank's stored quarantine dropped and the entry: all or nothing.
  await storeAudited(core, settings, actor, {
    type: 'bank.quarantine_lifted',
    details: { bankId, sinceRound: v.sinceRound, streak: v.streak, afterRound: lift.afterRound },
  });
  return { kind: 'lifted', result: { id: bankId, lifted: lift } };
}
