/**
 * What the federation derives from all banks together: the global scaler (fixed from the banks'
 * feature statistics before the first round, re-fixed only by an audited admin action) and each
 * bank's health against the consortium (health.ts decides, this module records and tells).
 */
import type { Scaler } from '@finsecure/common/protocol';
import type { BankCandidate } from '@finsecure/common/strategy';
import { audit, ControlRefused, type Core } from './core.js';
import { assessBank } from './health.js';
import { robustGlobalScaler } from './scaler.js';
import { MedianOfOthers } from '../trust/robust.js';
import type { BankFeatureStats } from '../trust/feature-stats.js';
import { publishBank } from './views.js';

/** The connected banks' statistics as robustGlobalScaler takes them (banks that sent none are left out). */
function statsOf(core: Core, bankIds: Iterable<string>): BankFeatureStats[] {
  const out: BankFeatureStats[] = [];
  for (const id of bankIds) {
    const hello = core.sessions.get(id)?.hello;
    if (hello?.featureStats)
      out.push({ bankId: id, stats: hello.featureStats, declaredTrainExamples: hello.numExamples });
  }
  return out;
}

/**
 * Fixes the scaler from `perBank`, trusting each bank only as far as its statistics are
 * plausible (trust/feature-stats.ts): a bank left out is an audit entry naming it, the feature
 * and why. Returns null, without fixing anything, when banks sent statistics but none is usable
 * (the caller waits; an identity scaler would be as wrong as a poisoned one).
 */
async function fixScaler(
  core: Core,
  perBank: BankFeatureStats[],
  actor: string,
  type: string,
  extra: Record<string, unknown>,
) {
  const r = robustGlobalScaler(perBank, core.opts.spec.inputSize);
  for (const e of r.excluded) {
    await audit(core, 'scaler.excluded', e.bankId, { reason: e.reason, feature: e.feature ?? null });
    core.opts.logger.warn({ bankId: e.bankId, reason: e.reason }, 'bank statistics left out of the global scaler');
  }
  if (perBank.length > 0 && r.banks.length === 0) {
    await audit(core, 'scaler.refused', actor, {
      reason: 'no bank sent usable feature statistics',
      excluded: r.excluded.map((e) => e.bankId),
    });
    return null;
  }
  core.scaler = r.scaler;
  await core.opts.store.setSetting('scaler', r.scaler);
  await audit(core, type, actor, {
    banks: r.banks,
    implausible: r.excluded.map((e) => e.bankId),
    clamped: r.clamped,
    examples: r.examples,
    ...extra,
  });
  await assessHealthOf(core, core.sessions.ids());
  return r;
}

/**
 * The scaler is fixed before the first round from the banks connected then. Null when no
 * bank's statistics are usable (the round waits for more banks).
 */
export async function ensureScaler(core: Core, candidates: BankCandidate[]): Promise<Scaler | null> {
  if (core.scaler) return core.scaler;
  const r = await fixScaler(
    core,
    statsOf(
      core,
      candidates.map((c) => c.bankId),
    ),
    'system',
    'scaler.fixed',
    {},
  );
  return r ? r.scaler : null;
}

/**
 * Re-fixes the global scaler from the statistics of the banks connected now (optionally
 * leaving some out), between rounds, as an audited admin action. For a consortium whose
 * scaler was fixed from unrepresentative banks (or poisoned statistics). The model keeps
 * its weights, so expect a few rounds of re-adaptation. Throws ControlRefused mid-round or
 * when no bank sent usable statistics. Call on the serial queue.
 */
export async function refitScaler(core: Core, actor: string, exclude: readonly string[]): Promise<{ banks: string[] }> {
  if (core.active)
    throw new ControlRefused(`round ${core.active.record.id} is in flight; re-fix the scaler between rounds`);
  const ids = [...core.sessions.ids()].filter((b) => !exclude.includes(b));
  const perBank = statsOf(core, ids);
  if (perBank.length === 0) throw new ControlRefused('no connected bank has sent feature statistics');
  const hadScaler = core.scaler !== null;
  const r = await fixScaler(core, perBank, actor, 'scaler.refit', { excluded: [...exclude], hadScaler });
  if (!r)
    throw new ControlRefused('no connected bank sent usable feature statistics; see the scaler.excluded audit entries');
  core.opts.logger.warn({ banks: r.banks, excluded: exclude }, 'global scaler re-fixed by an admin');
  return { banks: r.banks };
}

/** Re-assesses these banks against the last round's losses (sorted once for all of them). */
export async function assessHealthOf(core: Core, bankIds: Iterable<string>): Promise<void> {
  const losses = new MedianOfOthers(core.lastLosses.values());
  for (const id of [...bankIds]) await assessHealth(core, id, losses);
}

/** Re-assesses one bank; a change of status is logged and audited, and the dashboard told. */
export async function assessHealth(
  core: Core,
  bankId: string,
  losses: MedianOfOthers = new MedianOfOthers(core.lastLosses.values()),
): Promise<void> {
  const session = core.sessions.get(bankId);
  if (!session) return;
  const mine = core.lastLosses.get(bankId);
  const median = mine === undefined ? losses.all() : losses.of(mine);
  const h = assessBank(session.hello.featureStats, core.scaler, mine, { median });
  const before = core.health.get(bankId);
  core.health.set(bankId, h);
  if (
    (before?.status ?? 'ok') !== h.status ||
    (h.status === 'warning' && before?.reasons.join() !== h.reasons.join())
  ) {
    await audit(core, 'bank.health', bankId, { status: h.status, reasons: h.reasons });
    if (h.status === 'warning')
      core.opts.logger.warn({ bankId, reasons: h.reasons }, 'bank data looks unlike the consortium');
    await publishBank(core, bankId);
  }
}
