/**
 * What the federation derives from all banks together: the global scaler (fixed from the banks'
 * feature statistics before the first round, re-fixed only by an audited admin action) and each
 * bank's health against the consortium (health.ts decides, this module records and tells).
 */
import type { Scaler } from '@finsecure/common/protocol';
import type { BankCandidate } from '@finsecure/common/strategy';
import { audit, ControlRefused, type Core } from './core.js';
import { assessBank } from './health.js';
import { globalScaler } from './scaler.js';
import { publishBank } from './views.js';

/** The scaler is fixed before the first round from the banks connected then. */
export async function ensureScaler(core: Core, candidates: BankCandidate[]): Promise<Scaler> {
  if (core.scaler) return core.scaler;
  const stats = candidates.map((c) => core.sessions.get(c.bankId)?.hello.featureStats).filter((s) => s !== undefined);
  const { scaler, banks } = globalScaler(stats, core.opts.spec.inputSize);
  core.scaler = scaler;
  await core.opts.store.setSetting('scaler', scaler);
  await audit(core, 'scaler.fixed', 'system', { banks, examples: stats.reduce((n, s) => n + s.count, 0) });
  for (const id of [...core.sessions.ids()]) await assessHealth(core, id);
  return scaler;
}

/**
 * Re-fixes the global scaler from the statistics of the banks connected now (optionally
 * leaving some out), between rounds, as an audited admin action. For a consortium whose
 * scaler was fixed from unrepresentative banks (or poisoned statistics). The model keeps
 * its weights, so expect a few rounds of re-adaptation. Throws ControlRefused mid-round or
 * when no bank sent statistics. Call on the serial queue.
 */
export async function refitScaler(core: Core, actor: string, exclude: readonly string[]): Promise<{ banks: string[] }> {
  if (core.active)
    throw new ControlRefused(`round ${core.active.record.id} is in flight; re-fix the scaler between rounds`);
  const used = [...core.sessions.values()].filter((s) => !exclude.includes(s.bankId) && s.hello.featureStats);
  if (used.length === 0) throw new ControlRefused('no connected bank has sent feature statistics');
  const before = core.scaler;
  const { scaler } = globalScaler(
    used.map((s) => s.hello.featureStats!),
    core.opts.spec.inputSize,
  );
  core.scaler = scaler;
  await core.opts.store.setSetting('scaler', scaler);
  const banks = used.map((s) => s.bankId);
  await audit(core, 'scaler.refit', actor, { banks, excluded: [...exclude], hadScaler: before !== null });
  core.opts.logger.warn({ banks, excluded: exclude }, 'global scaler re-fixed by an admin');
  for (const id of [...core.sessions.ids()]) await assessHealth(core, id);
  return { banks };
}

/** Re-assesses one bank; a change of status is logged and audited, and the dashboard told. */
export async function assessHealth(core: Core, bankId: string): Promise<void> {
  const session = core.sessions.get(bankId);
  if (!session) return;
  const mine = core.lastLosses.get(bankId);
  const others = [...core.lastLosses].filter(([b]) => b !== bankId).map(([, l]) => l);
  const h = assessBank(session.hello.featureStats, core.scaler, mine, others);
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
