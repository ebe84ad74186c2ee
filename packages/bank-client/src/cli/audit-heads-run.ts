/**
 * What `finsecure-bank audit-heads` does when it runs (main.ts defines the command). Imported
 * by the command's action only: opening the state loads state-crypto, and with it the model
 * code (TF.js), which `finsecure-bank --help` does not need.
 */
import { readAuditHeads } from '../audit-heads.js';
import { openStateOrFail, requireBankState } from './open-state.js';
import { fail } from './fail.js';

/** `finsecure-bank audit-heads`: the heads kept in the state directory, one JSON object per line. */
export function printAuditHeads(o: { stateDir?: string; stateKeyFile?: string }): void {
  const stateDir = o.stateDir ?? (process.env.FINSECURE_STATE_DIR || './bank-state');
  requireBankState(
    stateDir,
    o.stateDir ? '--state-dir' : process.env.FINSECURE_STATE_DIR ? 'FINSECURE_STATE_DIR' : '--state-dir',
  );
  const cipher = openStateOrFail(stateDir, o.stateKeyFile);
  try {
    for (const h of readAuditHeads(stateDir, cipher, (m) => process.stderr.write(`finsecure-bank audit-heads: ${m}\n`)))
      process.stdout.write(`${JSON.stringify(h)}\n`);
  } catch (err) {
    fail(`${stateDir}/audit-heads.jsonl: ${(err as Error).message}`, 1);
  }
}
