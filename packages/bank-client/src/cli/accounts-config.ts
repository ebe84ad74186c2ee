/**
 * Settings of `finsecure-bank accounts`, from a JSON config file, the environment
 * (FINSECURE_ACCOUNTS_*) and flags, in that order of priority, validated at start-up with
 * the same schema the console uses (../account-report.ts). The environment names carry
 * ACCOUNTS_ because FINSECURE_LAYOUT and FINSECURE_DATA already mean the scoring layout and
 * the training file of `start`, whose values this command does not accept.
 */
import { envNumber, readJsonObjectFile } from '@finsecure/common/config';
import { z } from 'zod';
import { AccountReportSettings, MAX_NEIGHBORS } from '../account-report.js';
import { BANK_FILE_KEYS, BankConfigError, checkConfigKeys } from '../config/index.js';
import { ACCOUNTS_ENV } from './accounts-env.js';

export const AccountsConfig = AccountReportSettings.extend({
  data: z.string().min(1),
  out: z.string().min(1),
});
export type AccountsConfig = z.infer<typeof AccountsConfig>;

type Key = keyof z.input<typeof AccountsConfig>;
export type AccountsConfigKey = Key;

// Defined apart so that the command's help can name them without loading this module.
export { ACCOUNTS_ENV } from './accounts-env.js';

const FLAGS: Record<Key, string> = {
  data: '--data',
  out: '--out',
  layout: '--layout',
  detector: '--detector',
  contamination: '--contamination',
  seed: '--seed',
  neighbors: '--neighbors',
  reasons: '--reasons',
};
/**
 * The bank console's own config keys (console/config.ts; its other keys are also start's, in
 * BANK_FILE_KEYS): a shared file with an "accounts" object may hold them at the top level.
 */
const CONSOLE_KEYS = [
  'consolePort',
  'consoleHost',
  'consoleMaxUploadMb',
  'consoleIdColumn',
  'consoleTlsCert',
  'consoleTlsKey',
];
const NUMERIC = new Set<string>(['contamination', 'seed', 'neighbors', 'reasons']);

/** Flags arrive as strings: numbers are parsed here so that one message format covers all sources. */
function flagValues(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(FLAGS)) {
    const v = flags[key];
    if (v === undefined) continue;
    if (NUMERIC.has(key) && typeof v === 'string') {
      out[key] = envNumber(FLAGS[key as Key], v, (m) => new BankConfigError(m));
    } else out[key] = v;
  }
  return out;
}

/** What each setting must be, in the words of the error messages. */
const MUST_BE: Record<Key, string> = {
  data: 'a file name',
  out: 'a file name',
  layout: 'auto, handbook, berka, export',
  detector: 'iforest, lof',
  contamination: 'a number > 0 and ≤ 0.5',
  seed: 'an integer ≥ 0',
  neighbors: `an integer from 1 to ${MAX_NEIGHBORS}`,
  reasons: 'an integer from 1 to 20',
};

/**
 * Merges file < env < flags and validates. Throws BankConfigError naming every bad or
 * missing setting by where it came from (flag, environment variable, or config file key).
 */
export function loadAccountsConfig(sources: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}): AccountsConfig {
  const origin: Record<string, string> = {};
  let fromFile: Record<string, unknown> = {};
  if (sources.file) {
    const all = readJsonObjectFile(sources.file, (m) => new BankConfigError(m));
    const section = all.accounts;
    const inSection = section !== null && typeof section === 'object' && !Array.isArray(section);
    // Unknown keys are refused, not ignored: in the "accounts" object, its own keys only (the
    // top level may then be the file `start` reads); without one, the top level is this
    // command's alone.
    if (inSection) {
      checkConfigKeys(sources.file, section as Record<string, unknown>, Object.keys(FLAGS), 'accounts.');
      checkConfigKeys(sources.file, all, [...BANK_FILE_KEYS, ...CONSOLE_KEYS, 'accounts']);
    } else checkConfigKeys(sources.file, all, Object.keys(FLAGS));
    fromFile = Object.fromEntries(
      Object.entries(inSection ? (section as Record<string, unknown>) : all).filter(([k]) => k in FLAGS),
    );
    for (const k of Object.keys(fromFile)) origin[k] = `${sources.file}: ${inSection ? 'accounts.' : ''}${k}`;
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, { key, type }] of Object.entries(ACCOUNTS_ENV)) {
    const raw = sources.env?.[name];
    if (raw === undefined || raw === '') continue;
    fromEnv[key] = type === 'number' ? envNumber(name, raw, (m) => new BankConfigError(m)) : raw;
    origin[key] = name;
  }
  const fromFlags = flagValues(sources.flags ?? {});
  for (const k of Object.keys(fromFlags)) origin[k] = FLAGS[k as Key];
  const merged: Record<string, unknown> = { ...fromFile, ...fromEnv, ...fromFlags };
  const parsed = AccountsConfig.safeParse(merged);
  if (!parsed.success) {
    const lines = keysAtFault(parsed.error).map((key) => {
      const value = merged[key];
      if (value === undefined) return `${FLAGS[key as Key] ?? key} is required (or ${envName(key)})`;
      return mustBe(origin[key] ?? key, key, value);
    });
    throw new BankConfigError(lines.join('\n'));
  }
  return parsed.data;
}

/**
 * What `start` checks of a shared config file's "accounts" object, so that a misspelt or
 * invalid account-report setting is said at the daemon's start, not first when an analyst runs
 * `finsecure-bank accounts`: an object, with this command's keys only, each value valid (the
 * required ones may come later from flags).
 * @throws BankConfigError naming the file and "accounts.<key>"
 */
export function checkAccountsSection(file: string, all: Record<string, unknown>): void {
  if (!('accounts' in all)) return;
  const section = all.accounts;
  if (section === null || typeof section !== 'object' || Array.isArray(section))
    throw new BankConfigError(`${file}: accounts must be an object of \`finsecure-bank accounts\` settings`);
  const values = section as Record<string, unknown>;
  checkConfigKeys(file, values, Object.keys(FLAGS), 'accounts.');
  const parsed = AccountsConfig.partial().safeParse(values);
  if (parsed.success) return;
  const lines = keysAtFault(parsed.error).map((key) => mustBe(`${file}: accounts.${key}`, key, values[key]));
  throw new BankConfigError(lines.join('\n'));
}

/** The settings a validation error is about, each once, in order. */
function keysAtFault(error: z.ZodError): string[] {
  return [...new Set(error.issues.map((i) => String(i.path[0] ?? '')))];
}

/** "<where> must be <what the setting takes>, got "<value>"". */
function mustBe(where: string, key: string, value: unknown): string {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return `${where} must be ${MUST_BE[key as Key] ?? 'valid'}, got "${shown}"`;
}

function envName(key: string): string {
  return Object.entries(ACCOUNTS_ENV).find(([, v]) => v.key === key)?.[0] ?? key;
}
