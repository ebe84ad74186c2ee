/**
 * The bank's own privacy ledger. A bank does not have to trust the aggregator's
 * accounting: it tracks every noisy update it released in a local Rényi-DP accountant,
 * persisted in its state directory, and declines tasks that would exceed its budget.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RdpAccountant } from '@finsecure/common/dp';

export class LocalPrivacyLedger {
  private accountant: RdpAccountant;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'privacy.json');
    this.accountant = new RdpAccountant();
    try {
      this.accountant = RdpAccountant.fromJSON(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`cannot read privacy ledger ${this.file}: ${(err as Error).message}`);
    }
  }

  epsilon(delta: number): number {
    return this.accountant.epsilon(delta).epsilon;
  }

  wouldExceed(noiseMultiplier: number, delta: number, budget: number): boolean {
    return this.accountant.wouldExceed(noiseMultiplier, delta, budget);
  }

  /** Records one released update and persists the ledger before the update is sent. */
  record(noiseMultiplier: number): void {
    this.accountant.addGaussian(noiseMultiplier);
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.accountant.toJSON()));
    renameSync(tmp, this.file);
  }
}
