/**
 * The environment variables of `finsecure-bank accounts`, in a module of their own: the
 * command's help names them (accounts.ts, loaded by every invocation, `--help` included)
 * without loading the settings schema and the report code (accounts-config.ts).
 */
import type { AccountsConfigKey } from './accounts-config.js';

export const ACCOUNTS_ENV: Record<string, { key: AccountsConfigKey; type: 'string' | 'number' }> = {
  FINSECURE_ACCOUNTS_DATA: { key: 'data', type: 'string' },
  FINSECURE_ACCOUNTS_OUT: { key: 'out', type: 'string' },
  FINSECURE_ACCOUNTS_LAYOUT: { key: 'layout', type: 'string' },
  FINSECURE_ACCOUNTS_DETECTOR: { key: 'detector', type: 'string' },
  FINSECURE_ACCOUNTS_CONTAMINATION: { key: 'contamination', type: 'number' },
  FINSECURE_ACCOUNTS_SEED: { key: 'seed', type: 'number' },
  FINSECURE_ACCOUNTS_NEIGHBORS: { key: 'neighbors', type: 'number' },
  FINSECURE_ACCOUNTS_REASONS: { key: 'reasons', type: 'number' },
};
