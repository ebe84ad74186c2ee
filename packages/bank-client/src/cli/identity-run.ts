/**
 * What `finsecure-bank identity` does when it runs (main.ts defines the command): prints this
 * bank's secure-aggregation identity public key, as the entry of the consortium's roster
 * (`secaggRoster`) the other banks' operators need. Imported by the command's action only.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { toBase64 } from '@finsecure/common/secagg';
import { IDENTITY_FILE, loadOrCreateIdentity } from '../secagg/identity.js';
import { fail } from './fail.js';

export interface IdentityOptions {
  stateDir?: string;
  bankId?: string;
}

/**
 * Prints `{"<bank-id>": "<identityKey>"}` (one line of JSON; the bare key without a bank id).
 * The key is the one `finsecure-bank start` uses: made here (0600, in the state directory) if the
 * bank has none yet, so that rosters can be exchanged before its first start. The private key
 * never leaves the file.
 */
export function printIdentity(o: IdentityOptions): void {
  const stateDir = o.stateDir ?? (process.env.FINSECURE_STATE_DIR || './bank-state');
  const bankId = o.bankId ?? (process.env.FINSECURE_BANK_ID || undefined);
  const made = !existsSync(path.join(stateDir, IDENTITY_FILE));
  let key: string;
  try {
    key = toBase64(loadOrCreateIdentity(stateDir).publicKey);
  } catch (err) {
    return fail(`${stateDir}: ${(err as Error).message}`, 1);
  }
  if (made) process.stderr.write(`made a new identity key in ${path.join(stateDir, IDENTITY_FILE)}\n`);
  process.stdout.write(`${bankId ? JSON.stringify({ [bankId]: key }) : key}\n`);
}
