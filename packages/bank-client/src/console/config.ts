/**
 * Settings of the bank console, from a JSON config file (same keys as the long flags in
 * camelCase), the environment (FINSECURE_*) and flags, in that order of priority,
 * validated at start-up. Used by `finsecure-bank console`, by `finsecure-bank start
 * --console-port` and by `finsecure-bank users`.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { envNumber, readJsonObjectSource } from '@finsecure/common/config';
import { z } from 'zod';
import { BANK_FILE_KEYS, BankConfigError, checkConfigKeys, describeIssue, readMappingFile } from '../config/index.js';
import { parseColumnMapping, type ColumnMapping } from '@finsecure/common/data';
import { DEFAULT_CONSOLE_HOST } from './defaults.js';

export const ConsoleConfig = z.object({
  /** Absent: no console (for `start`). `console` requires it. */
  consolePort: z.number().int().min(0).max(65535).optional(),
  consoleHost: z.string().min(1).default(DEFAULT_CONSOLE_HOST),
  consoleMaxUploadMb: z.number().gt(0).max(4096).default(256),
  consoleIdColumn: z.string().min(1).max(256).optional(),
  consoleTlsCert: z.string().min(1).optional(),
  consoleTlsKey: z.string().min(1).optional(),
  stateDir: z.string().min(1).default('./bank-state'),
  layout: z.enum(['auto', 'kaggle', 'handbook']).default('auto'),
  mapping: z.string().min(1).optional(),
  backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  /** The state key, as `start` reads it (a file, or the key itself): the flag --state-key-file comes first. */
  stateKeyFile: z.string().min(1).optional(),
  stateKey: z.string().min(1).optional(),
});
export type ConsoleConfig = Omit<z.infer<typeof ConsoleConfig>, 'mapping'> & {
  mapping?: ColumnMapping;
  /** Where stateKeyFile / stateKey came from ("FINSECURE_STATE_KEY_FILE", "bank.json:3:19: stateKeyFile"). */
  stateKeyOrigin?: { stateKeyFile?: string; stateKey?: string };
};

/** Keys of the console's settings in a config file (shared with `start`, whose keys it may also hold). */
export const CONSOLE_FILE_KEYS: readonly string[] = Object.keys(ConsoleConfig.shape);

export const CONSOLE_ENV: Record<string, { key: keyof z.input<typeof ConsoleConfig>; type: 'string' | 'number' }> = {
  FINSECURE_CONSOLE_PORT: { key: 'consolePort', type: 'number' },
  FINSECURE_CONSOLE_HOST: { key: 'consoleHost', type: 'string' },
  FINSECURE_CONSOLE_MAX_UPLOAD_MB: { key: 'consoleMaxUploadMb', type: 'number' },
  FINSECURE_CONSOLE_ID_COLUMN: { key: 'consoleIdColumn', type: 'string' },
  FINSECURE_CONSOLE_TLS_CERT: { key: 'consoleTlsCert', type: 'string' },
  FINSECURE_CONSOLE_TLS_KEY: { key: 'consoleTlsKey', type: 'string' },
  FINSECURE_STATE_DIR: { key: 'stateDir', type: 'string' },
  FINSECURE_LAYOUT: { key: 'layout', type: 'string' },
  FINSECURE_MAPPING: { key: 'mapping', type: 'string' },
  FINSECURE_BACKEND: { key: 'backend', type: 'string' },
  FINSECURE_LOG_LEVEL: { key: 'logLevel', type: 'string' },
  FINSECURE_LOG_FORMAT: { key: 'logFormat', type: 'string' },
  FINSECURE_STATE_KEY_FILE: { key: 'stateKeyFile', type: 'string' },
  FINSECURE_STATE_KEY: { key: 'stateKey', type: 'string' },
};

const FLAGS: Record<string, string> = {
  consolePort: '--console-port',
  consoleHost: '--console-host',
  consoleMaxUploadMb: '--console-max-upload-mb',
  consoleIdColumn: '--console-id-column',
  consoleTlsCert: '--console-tls-cert',
  consoleTlsKey: '--console-tls-key',
  stateDir: '--state-dir',
  layout: '--layout',
  mapping: '--mapping',
  backend: '--backend',
  logLevel: '--log-level',
  logFormat: '--log-format',
  stateKeyFile: '--state-key-file',
  stateKey: 'FINSECURE_STATE_KEY',
};

export function loadConsoleConfig(sources: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}): ConsoleConfig {
  // Where each setting came from, for the error messages: flag, variable or file + key.
  const origin: Record<string, string> = {};
  let fromFile: Record<string, unknown> = {};
  if (sources.file) {
    const source = readJsonObjectSource(sources.file, (m) => new BankConfigError(m));
    fromFile = source.value;
    // The file may be the one `start` reads: its keys, and an "accounts" object, are known too.
    checkConfigKeys(sources.file, fromFile, [...CONSOLE_FILE_KEYS, ...BANK_FILE_KEYS, 'accounts']);
    fromFile = Object.fromEntries(Object.entries(fromFile).filter(([k]) => k in FLAGS));
    // "file:line:column: key", the place of the key's value in the file.
    for (const k of Object.keys(fromFile)) origin[k] = `${sources.file}${source.where([k])}: ${k}`;
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, { key, type }] of Object.entries(CONSOLE_ENV)) {
    const raw = sources.env?.[name];
    if (raw === undefined || raw === '') continue;
    fromEnv[key] = type === 'number' ? envNumber(name, raw, (m) => new BankConfigError(m)) : raw;
    origin[key] = name;
  }
  const fromFlags = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined));
  for (const k of Object.keys(fromFlags)) origin[k] = FLAGS[k] ?? k;
  const merged: Record<string, unknown> = { ...fromFile, ...fromEnv, ...fromFlags };
  // A config file may hold the mapping object itself (as for `start`).
  const mappingObject = typeof merged.mapping === 'object' && merged.mapping !== null ? merged.mapping : undefined;
  if (mappingObject) delete merged.mapping;
  const parsed = ConsoleConfig.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]);
      return `  - ${origin[key] ?? FLAGS[key] ?? key}: ${describeIssue(i, merged[key], key)}`;
    });
    throw new BankConfigError(`invalid bank console configuration:\n${lines.join('\n')}`);
  }
  const { mapping, ...parsedRest } = parsed.data;
  const rest = {
    ...parsedRest,
    stateKeyOrigin: {
      ...(origin.stateKeyFile ? { stateKeyFile: origin.stateKeyFile } : {}),
      ...(origin.stateKey ? { stateKey: origin.stateKey } : {}),
    },
  };
  if (!rest.consoleTlsCert !== !rest.consoleTlsKey)
    throw new BankConfigError('--console-tls-cert and --console-tls-key must be given together');
  if (mapping !== undefined && rest.layout !== 'auto')
    throw new BankConfigError('--mapping and --layout cannot be combined: a mapping is the layout');
  if (mappingObject) {
    try {
      return { ...rest, mapping: parseColumnMapping(mappingObject, 'mapping in the config file') };
    } catch (err) {
      throw new BankConfigError((err as Error).message);
    }
  }
  return mapping === undefined ? rest : { ...rest, mapping: readMappingFile(mapping, origin.mapping ?? '--mapping') };
}

/**
 * The console's certificate and key (PEM), read and checked at start-up, or undefined when it
 * serves plain HTTP. Throws BankConfigError naming the setting and the file that cannot be read,
 * or both files when they are not a certificate and its key.
 */
export function readConsoleTls(cfg: Pick<ConsoleConfig, 'consoleTlsCert' | 'consoleTlsKey'>) {
  if (!cfg.consoleTlsCert || !cfg.consoleTlsKey) return undefined;
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new BankConfigError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const tls = {
    cert: read('--console-tls-cert', cfg.consoleTlsCert),
    key: read('--console-tls-key', cfg.consoleTlsKey),
  };
  try {
    createSecureContext(tls); // a file that is not PEM, or a key of another certificate
  } catch (err) {
    throw new BankConfigError(
      `--console-tls-cert/--console-tls-key: ${cfg.consoleTlsCert} and ${cfg.consoleTlsKey} are not a usable certificate and key: ${(err as Error).message}`,
    );
  }
  return tls;
}
