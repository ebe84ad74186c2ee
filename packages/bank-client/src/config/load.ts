/**
 * `loadBankConfig`: the configuration from a JSON file, the environment and flags (in that order
 * of priority), validated (schema.ts) and its files read (token, column mapping, roster, CA)
 * before anything connects or loads data; every error names the flag, variable or file:line:column.
 */
import { readFileSync } from 'node:fs';
import { envNumber, readJsonFile, readJsonObjectSource } from '@finsecure/common/config';
import { parseColumnMapping, type ColumnMapping } from '@finsecure/common/data';
import { readSecAggRoster, type SecAggRoster } from '../secagg/roster.js';
import { BANK_ENV } from './env.js';
import { BANK_FILE_KEYS, BankConfigError, checkConfigKeys, describeIssue, flagOf, showValue } from './problems.js';
import { BankConfig } from './schema.js';

function fromEnv(env: NodeJS.ProcessEnv, origin: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, { key, type }] of Object.entries(BANK_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (type === 'number') {
      out[key] = envNumber(name, raw, (m) => new BankConfigError(m));
    } else out[key] = raw;
    origin[key] = name;
  }
  return out;
}

function readTokenFile(file: string, setting: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BankConfigError(`cannot read ${setting} ${file}: ${(err as Error).message}`);
  }
  if (token === '') throw new BankConfigError(`${setting} ${file} is empty: it should hold the bank's token`);
  return token;
}

/** Flag names as users type them, for "is required" messages. */
const FLAG_NAMES: Record<string, string> = {
  token: '--token / FINSECURE_BANK_TOKEN',
  stateKeyFile: '--state-key-file / FINSECURE_STATE_KEY_FILE',
  stateKey: 'FINSECURE_STATE_KEY',
};

export function loadBankConfig(sources: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
  /** Other keys the config file may hold (the console's, when `start` serves it). */
  otherFileKeys?: readonly string[];
}): BankConfig {
  // Where each setting came from, for the error messages: flag, variable or file + key.
  const origin: Record<string, string> = {};
  let file: Record<string, unknown> = {};
  if (sources.file) {
    const source = readJsonObjectSource(sources.file, (m) => new BankConfigError(m));
    file = source.value;
    checkConfigKeys(sources.file, file, [...BANK_FILE_KEYS, ...(sources.otherFileKeys ?? []), 'accounts']);
    file = Object.fromEntries(Object.entries(file).filter(([k]) => k in BankConfig.shape || k === 'tokenFile'));
    // "file:line:column: key", the place of the key's value in the file.
    const at = (k: string) => `${sources.file}${source.where([k])}: ${k}`;
    if (typeof file.tokenFile === 'string' && file.token === undefined)
      file.token = readTokenFile(file.tokenFile, at('tokenFile'));
    else if (file.tokenFile !== undefined && typeof file.tokenFile !== 'string')
      throw new BankConfigError(`${at('tokenFile')} must be a file name, got ${showValue(file.tokenFile)}`);
    delete file.tokenFile;
    for (const k of Object.keys(file)) origin[k] = at(k);
  }
  const env = sources.env ? fromEnv(sources.env, origin) : {};
  const flags = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined));
  if (flags.tokenFile !== undefined) {
    flags.token = readTokenFile(String(flags.tokenFile), '--token-file');
    delete flags.tokenFile;
  }
  for (const k of Object.keys(flags)) origin[k] = flagOf(k);
  const merged: Record<string, unknown> = { ...file, ...env, ...flags };
  const parsed = BankConfig.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const value = merged[key];
      if (i.code === 'custom' && key === 'reconnectMaxMs') {
        const min = merged.reconnectMinMs ?? 500;
        const from = origin.reconnectMinMs ?? 'the default; lower it with reconnectMinMs in the config file';
        return `  - ${origin[key] ?? flagOf(key)}: must be at least reconnectMinMs, the shortest wait between reconnection attempts: ${showValue(min)} (${from}), got ${showValue(value)}`;
      }
      if (i.code === 'custom') return `  - ${origin[key] ?? flagOf(key)}: ${i.message}`;
      if (value === undefined && i.code === 'invalid_type') return `  - ${FLAG_NAMES[key] ?? flagOf(key)}: is required`;
      return `  - ${origin[key] ?? flagOf(key)}: ${describeIssue(i, value, key)}`;
    });
    throw new BankConfigError(`invalid bank-client configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.caFile !== undefined) checkCaFile(parsed.data.caFile, origin.caFile ?? '--ca-file');
  const { mapping, secaggRoster, ...rest } = parsed.data;
  return {
    ...rest,
    seedPinned: merged.seed !== undefined,
    stateKeyOrigin: {
      ...(origin.stateKeyFile ? { stateKeyFile: origin.stateKeyFile } : {}),
      ...(origin.stateKey ? { stateKey: origin.stateKey } : {}),
    },
    ...(mapping !== undefined
      ? { mapping: typeof mapping === 'string' ? readMappingFile(mapping, origin.mapping ?? '--mapping') : mapping }
      : {}),
    ...(secaggRoster !== undefined
      ? { secaggRoster: readRosterSetting(secaggRoster, origin.secaggRoster ?? flagOf('secaggRoster')) }
      : {}),
  };
}

/**
 * Reads the secure-aggregation roster at start-up, refusing a file that cannot be read or is not a
 * roster with a message naming the setting, the file and the entry at fault (secagg/roster.ts).
 */
function readRosterSetting(file: string, setting: string): SecAggRoster {
  try {
    return readSecAggRoster(file);
  } catch (err) {
    throw new BankConfigError(`${setting}: ${(err as Error).message}`);
  }
}

/**
 * Refuses, at start-up and naming the setting, a CA file that cannot be read or holds no PEM
 * certificate; otherwise the daemon would load its data first and then stop at the first connection.
 * @throws BankConfigError "<setting>: cannot read <file> (<code>)" or "…: holds no PEM certificate"
 */
function checkCaFile(file: string, setting: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new BankConfigError(`${setting}: cannot read ${file} (${code})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new BankConfigError(`${setting}: ${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
}

/**
 * Reads and validates a column mapping file (schema: @finsecure/common/data mapping-schema.ts).
 * `setting` names where the file name came from in errors (`--mapping`, `FINSECURE_MAPPING`, a config file's key).
 */
export function readMappingFile(file: string, setting = '--mapping'): ColumnMapping {
  const json = readJsonFile(file, (m) => new BankConfigError(`${setting}: ${m}`), 'column mapping');
  try {
    return parseColumnMapping(json, `${setting} ${file}`);
  } catch (err) {
    throw new BankConfigError((err as Error).message);
  }
}
