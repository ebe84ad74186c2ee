/**
 * The aggregator's view of each bank's privacy spending: one Rényi-DP accountant per
 * bank, fed by the DP parameters each accepted update declares, persisted as each release is
 * recorded (and at a commit, should one be left unsaved). Banks keep their own accountant too (they do not have to trust ours); this
 * one drives selection (a bank over budget is not asked again) and the dashboard.
 * Under secure aggregation with distributed DP each bank adds only a share of the noise, but any
 * quorum of shares carries (zC)² (common/secagg/distributed-dp.ts): its masked update is recorded
 * as one release with the sum's multiplier z (federation/secagg/stages.ts), like a plain update.
 */
import { RdpAccountant } from '@finsecure/common/dp';
import type { Store } from '../store/types.js';

const KEY = 'privacyLedger';

export class PrivacyLedger {
  private readonly accountants = new Map<string, RdpAccountant>();
  /** A release recorded since the last save: the round's commit then writes nothing when none was. */
  private dirty = false;

  constructor(private readonly store: Store) {}

  async load(): Promise<void> {
    const saved = await this.store.getSetting<Record<string, unknown>>(KEY);
    if (!saved) return;
    for (const [bankId, json] of Object.entries(saved)) {
      this.accountants.set(bankId, RdpAccountant.fromJSON(json as ReturnType<RdpAccountant['toJSON']>));
    }
  }

  /** Stores the ledger when a release was recorded since the last save (one settings write). */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const out: Record<string, unknown> = {};
    for (const [bankId, acc] of this.accountants) out[bankId] = acc.toJSON();
    await this.store.setSetting(KEY, out);
    this.dirty = false;
  }

  /** Records one release with noise multiplier z and returns the bank's ε so far. */
  record(bankId: string, noiseMultiplier: number, delta: number): number {
    let acc = this.accountants.get(bankId);
    if (!acc) {
      acc = new RdpAccountant();
      this.accountants.set(bankId, acc);
    }
    // z = 0 is recorded too: ε becomes infinite, which is the truth about a noiseless release.
    acc.addGaussian(noiseMultiplier);
    this.dirty = true;
    return acc.epsilon(delta).epsilon;
  }

  epsilonOf(bankId: string, delta: number): number | null {
    const acc = this.accountants.get(bankId);
    return acc ? acc.epsilon(delta).epsilon : null;
  }

  epsilons(delta: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [bankId, acc] of this.accountants) out[bankId] = acc.epsilon(delta).epsilon;
    return out;
  }

  wouldExceed(bankId: string, noiseMultiplier: number, delta: number, budget: number): boolean {
    if (noiseMultiplier <= 0) return true;
    const acc = this.accountants.get(bankId) ?? new RdpAccountant();
    return acc.wouldExceed(noiseMultiplier, delta, budget);
  }
}
