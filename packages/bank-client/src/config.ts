/**
 * Bank-client configuration: one zod schema, fed from a JSON file, the environment and
 * flags (in that order of priority), validated before anything connects or loads data.
 * The token is read from FINSECURE_BANK_TOKEN, a token file or the config file; it may
 * also be passed as a flag, with a warning, since command lines are visible in `ps`.
 */
import { readFileSync } from 'node:fs';
import { editDistance, envNumber, readJsonFile, readJsonObjectSource } from '@finsecure/common/config';
import { columnMappingSchema, parseColumnMapping, type ColumnMapping } from '@finsecure/common/data';
import { MIN_SEGMENT_NOISE_MULTIPLIER } from '@finsecure/common/kmeans';
import { z } from 'zod';
import { readSecAggRoster, type SecAggRoster } from './secagg/roster.js';
import { BANK_ENV } from './config-env.js';

export { BANK_ENV };

/** The longest wait a setting may ask for, ms: one day. */
export const MAX_WAIT_MS = 86_400_000;

/**
 * Default `segmentMinNoiseMultiplier`: the aggregator's own floor for the jobs it asks
 * (common/kmeans MIN_SEGMENT_NOISE_MULTIPLIER, z = 1). Below the dashboard's and `npm start`'s jobs
 * (z = 2 a Lloyd step, 3 for the histogram) and the README's (2), so they are answered.
 */
export const DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER = MIN_SEGMENT_NOISE_MULTIPLIER;
/**
 * Default `calibrationMaxBins`: the aggregator's default calibration job asks for 100 bins (a
 * threshold to ≈ 0.02 in score where IsolationForest scores live); 1,000 or 10,000 bins put most of
 * a bank's accounts alone in their bin.
 */
export const DEFAULT_CALIBRATION_MAX_BINS = 100;
/** Default `evaluationMaxBins`: the aggregator's default `histogramBins` (round/rules.ts). */
export const DEFAULT_EVALUATION_MAX_BINS = 1000;

export const BankConfig = z
  .object({
    server: z
      .string()
      .regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL, e.g. ws://localhost:8080/ws/bank')
      // The message never repeats the URL: it may hold a user name and password.
      .refine((s) => URL.canParse(s), 'is not a valid URL (check the host name and the port, 1–65535)'),
    bankId: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'may contain letters, digits, "_", "." and "-"'),
    token: z.string().min(16, 'must be at least 16 characters (use the token the admin API issued)'),
    data: z.string().min(1),
    test: z.string().min(1).optional(),
    testFraction: z.number().gt(0).lt(1).default(0.2),
    split: z.enum(['stratified', 'time']).default('stratified'),
    layout: z.enum(['auto', 'kaggle', 'handbook']).default('auto'),
    /**
     * Column mapping for CSVs in neither built-in layout: a JSON file's path (--mapping,
     * FINSECURE_MAPPING) or, in the config file, the mapping object itself. Read and
     * validated by loadBankConfig, which always returns the object.
     */
    mapping: z.union([z.string().min(1), columnMappingSchema]).optional(),
    dpClip: z.number().positive().optional(),
    dpNoiseMultiplier: z.number().nonnegative().optional(),
    dpDelta: z.number().gt(0).lt(1).default(1e-5),
    dpEpsilonBudget: z.number().positive().optional(),
    /** INSECURE: a seeded RNG for DP noise, for reproducible simulations only. */
    insecureDpSeed: z.number().int().optional(),
    /**
     * Copies of each analyst-confirmed label (bank console) added to the training data of
     * the next rounds; 0 turns the feedback loop off (feedback.ts).
     */
    feedbackWeight: z.number().int().min(0).max(100).default(3),
    /**
     * The fewest customers a segment may hold in an exact (not noised) Lloyd answer of a
     * segmentation; smaller ones, but not empty, are released as empty (common/kmeans/suppress.ts).
     * The bank's own floor: a job's minCustomers is the aggregator's.
     */
    segmentMinCount: z.number().int().min(1).max(1_000_000).default(10),
    /**
     * Whether this bank answers a segmentation's histogram and Lloyd stages without DP noise
     * (a job without `privacy`). Off by default: exact answers can be differenced (a Lloyd answer
     * against the exact moments, or two Lloyd answers whose centres differ by one customer) into
     * one customer's features, whatever is suppressed, so only the bank may allow them.
     */
    segmentExact: z.boolean().default(false),
    /**
     * The least noise multiplier a segmentation release (histogram or Lloyd step) counts as DP with;
     * a job asking for less (down to z = 1e-9, which hides nothing) is an exact answer, declined
     * unless `segmentExact`.
     */
    segmentMinNoiseMultiplier: z.number().positive().max(1000).default(DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER),
    /**
     * Whether this bank answers calibration jobs: an exact (not noised) histogram of its accounts'
     * anomaly scores. Off by default: an account alone in its bin has its score published.
     */
    calibrationExact: z.boolean().default(false),
    /** The most bins this bank's calibration histogram may have, whatever the job asks. */
    calibrationMaxBins: z.number().int().min(2).max(10_000).default(DEFAULT_CALIBRATION_MAX_BINS),
    /**
     * The most score-histogram bins this bank evaluates a candidate with, whatever the request asks:
     * finer bins put more of the test split's rows alone in their bin.
     */
    evaluationMaxBins: z.number().int().min(2).max(10_000).default(DEFAULT_EVALUATION_MAX_BINS),
    /** The fewest scored accounts this bank sends a calibration histogram for (the job's minAccounts is the aggregator's). */
    calibrationMinAccounts: z.number().int().min(1).max(1_000_000).default(10),
    /** Where the latest global model and the privacy ledger are kept. */
    stateDir: z.string().min(1).default('./bank-state'),
    /**
     * The state key (required, state-crypto/key.ts): a file holding it, or the key itself.
     * Resolved at start-up by the state-key module, which never logs it.
     */
    stateKeyFile: z.string().min(1).optional(),
    stateKey: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    /**
     * Seed of the local split, SMOTE and batch order. Given explicitly (flag, environment or config
     * file), local training is also reproducible: the same round, global model and data give the
     * same update (`seedPinned`, local-model.ts). Left to its default, each training run mixes in
     * fresh randomness, so that an aggregator cannot replay a secure round and difference two sums.
     */
    seed: z.number().int().default(1),
    /**
     * The secure-aggregation roster: a JSON file mapping each consortium bank's id to its identity
     * public key (secagg/roster.ts). Read and checked by loadBankConfig, which returns the roster.
     * Without one, the bank trusts the keys the aggregator forwards on first sight (TOFU).
     */
    secaggRoster: z.string().min(1).optional(),
    /**
     * Whether this bank takes part only in secure rounds (its update and evaluation summed with
     * other banks' before the aggregator sees them), declining plain assignments and plaintext
     * evaluation requests. Unset: on with a roster, off without one, since a bank given a roster
     * meant to keep its update from the aggregator, and an aggregator that ran a plain round
     * instead would otherwise get it unmasked (egress review).
     */
    secureOnly: z.boolean().optional(),
    /**
     * Threads for local training and scoring (MlpTrainer `workers`): 1, or more to use more
     * cores; each extra thread is started once, when a job is large enough to gain from it.
     */
    trainingThreads: z.number().int().min(1).max(64).default(1),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    // At most a day: Node's timers take a delay above 2^31 − 1 ms (24.8 days) for 1 ms, so a larger
    // "wait forever" would retry, or give up on the welcome, at once.
    reconnectMinMs: z.number().int().min(10).max(MAX_WAIT_MS).default(500),
    reconnectMaxMs: z.number().int().min(10).max(MAX_WAIT_MS).default(30_000),
    /** How long an open socket may wait for the aggregator's welcome before the attempt counts as failed, ms. */
    welcomeTimeoutMs: z.number().int().min(100).max(MAX_WAIT_MS).default(60_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** auto: human-readable with a progress bar on a terminal, JSON lines otherwise. */
    logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  })
  .refine((c) => (c.dpClip === undefined) === (c.dpNoiseMultiplier === undefined), {
    message: '--dp-clip and --dp-noise-multiplier must be given together',
    path: ['dpClip'],
  })
  .refine((c) => c.mapping === undefined || c.layout === 'auto', {
    message: '--mapping and --layout cannot be combined: a mapping is the layout',
    path: ['mapping'],
  })
  .refine((c) => c.reconnectMaxMs >= c.reconnectMinMs, {
    message: 'must be at least reconnectMinMs',
    path: ['reconnectMaxMs'],
  });
/**
 * The validated configuration; `mapping` and `secaggRoster`, if any, have been read from their
 * files. `seedPinned`: `seed` was given (flag, environment or config file) rather than defaulted,
 * so local training is reproducible; absent (a config made by hand) means not pinned.
 * `stateKeyOrigin`: where `stateKeyFile` / `stateKey` came from ("FINSECURE_STATE_KEY_FILE",
 * "bank.json:3:19: stateKeyFile"), so a key that cannot be read is named as the operator set it.
 */
export type BankConfig = Omit<z.infer<typeof BankConfig>, 'mapping' | 'secaggRoster'> & {
  mapping?: ColumnMapping;
  secaggRoster?: SecAggRoster;
  seedPinned?: boolean;
  stateKeyOrigin?: { stateKeyFile?: string; stateKey?: string };
};
export type BankConfigInput = z.input<typeof BankConfig>;

export class BankConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BankConfigError';
  }
}

/** `dpNoiseMultiplier` → `--dp-noise-multiplier`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Keys of the JSON config file of `start`: every key of the schema, plus tokenFile (read like
 * --token-file). The same file may also hold the console's keys (console/config.ts) and an
 * "accounts" object (cli/accounts-config.ts).
 */
export const BANK_FILE_KEYS: readonly string[] = [...Object.keys(BankConfig.shape), 'tokenFile'];

/** The known key closest to `key`, if it is close enough to be a typo. */
export function didYouMean(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Refuses keys of a config file (or of an object in it, `where`) that no setting reads,
 * naming the file, each unknown key and the closest known one.
 */
export function checkConfigKeys(file: string, obj: Record<string, unknown>, known: Iterable<string>, where = ''): void {
  const knownSet = new Set(known);
  const unknown = Object.keys(obj).filter((k) => !knownSet.has(k));
  if (!unknown.length) return;
  const lines = unknown.map((k) => {
    const hint = didYouMean(k, knownSet);
    return `  - "${where}${k}"${hint ? ` (did you mean "${where}${hint}"?)` : ''}`;
  });
  throw new BankConfigError(
    `config file ${file}: unknown key${unknown.length > 1 ? 's' : ''}:\n${lines.join('\n')}\n` +
      `  the keys ${where ? `of "${where.slice(0, -1)}" ` : ''}are: ${[...knownSet].sort().join(', ')}`,
  );
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Settings whose values are secrets: an error about one says what kind of value it got, never the value. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['token', 'stateKey']);

/** What an error may say about a secret's value: its JSON type only. */
function kindOf(value: unknown): string {
  const kind =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'object'
          ? 'an object'
          : `a ${typeof value}`;
  return `${kind} (not shown: it is a secret)`;
}

/**
 * A zod issue in words for people: "must be a whole number, got 2.5" rather than "Invalid
 * input: expected int, received number". `value` is the value of the setting; `key` its name,
 * so that a secret's value (SECRET_SETTINGS) is never quoted.
 */
export function describeIssue(i: z.core.$ZodIssue, value: unknown, key = ''): string {
  if (SECRET_SETTINGS.has(key)) {
    if (i.code === 'invalid_type') return `must be a string, got ${kindOf(value)}`;
    return i.message;
  }
  // JSON has no Infinity or NaN, but 1e400 parses as Infinity: say what is wrong with it.
  if (typeof value === 'number' && !Number.isFinite(value)) return `must be a finite number, got ${value}`;
  const got = `, got ${show(value)}`;
  switch (i.code) {
    case 'invalid_type':
      if (i.expected === 'int') return `must be a whole number${got}`;
      return `must be ${i.expected === 'number' ? 'a number' : i.expected === 'string' ? 'a string' : i.expected}${got}`;
    case 'too_big':
      if (i.origin === 'number') return `must be ${i.inclusive ? '≤' : '<'} ${String(i.maximum)}${got}`;
      break;
    case 'too_small':
      if (i.origin === 'number') return `must be ${i.inclusive ? '≥' : '>'} ${String(i.minimum)}${got}`;
      break;
    case 'invalid_value':
      return `must be one of ${i.values.map(String).join(', ')}${got}`;
    default:
      break;
  }
  return i.message;
}

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
      throw new BankConfigError(`${at('tokenFile')} must be a file name, got ${show(file.tokenFile)}`);
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
        return `  - ${origin[key] ?? flagOf(key)}: must be at least reconnectMinMs, the shortest wait between reconnection attempts: ${show(min)} (${from}), got ${show(value)}`;
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
