/**
 * The bank's own privacy ledger. A bank does not have to trust the aggregator's
 * accounting: it tracks every noisy update it released in a local Rényi-DP accountant,
 * persisted in its state directory, and declines tasks that would exceed its budget. A masked
 * update with distributed DP (secagg/secure-fit.ts) is one release with the SUM's multiplier z:
 * the bank's share is smaller, but any quorum of shares carries (zC)².
 */
import path from 'node:path';
import { RdpAccountant } from '@finsecure/common/dp';
import { cipherFor, readStateFile, writeStateFile, type StateCipher } from './state-crypto/index.js';

export class LocalPrivacyLedger {
  private accountant: RdpAccountant;
  private readonly file: string;

  /** @param cipher how the ledger is kept at rest (default: as the state directory was opened, state-crypto) */
  constructor(
    stateDir: string,
    private readonly cipher: StateCipher = cipherFor(stateDir),
  ) {
    this.file = path.join(stateDir, 'privacy.json');
    this.accountant = new RdpAccountant();
    try {
      const raw = readStateFile(this.cipher, this.file);
      if (raw) this.accountant = RdpAccountant.fromJSON(JSON.parse(raw.toString('utf8')));
    } catch (err) {
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
    writeStateFile(this.cipher, this.file, JSON.stringify(this.accountant.toJSON()));
  }
}
