/**
 * Bank-client configuration: one zod schema, fed from a JSON file, the environment and
 * flags (in that order of priority), validated before anything connects or loads data.
 * The token is read from FINSECURE_BANK_TOKEN, a token file or the config file; it may
 * also be passed as a flag, with a warning, since command lines are visible in `ps`.
 */
import { readFileSync } from 'node:fs';
import { envNumber, readJsonObjectFile } from '@finsecure/common/config';
import { columnMappingSchema, parseColumnMapping, type ColumnMapping } from '@finsecure/common/data';
import { z } from 'zod';

export const BankConfig = z
  .object({
    server: z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL, e.g. ws://localhost:8080/ws/bank'),
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
    /** Where the latest global model and the privacy ledger are kept. */
    stateDir: z.string().min(1).default('./bank-state'),
    /**
     * The state key (required, state-crypto/key.ts): a file holding it, or the key itself.
     * Resolved at start-up by the state-key module, which never logs it.
     */
    stateKeyFile: z.string().min(1).optional(),
    stateKey: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    seed: z.number().int().default(1),
    /**
     * Threads for local training and scoring (MlpTrainer `workers`): 1, or more to use more
     * cores; each extra thread is started once, when a job is large enough to gain from it.
     */
    trainingThreads: z.number().int().min(1).max(64).default(1),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    reconnectMinMs: z.number().int().min(10).default(500),
    reconnectMaxMs: z.number().int().min(10).default(30_000),
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
/** The validated configuration; `mapping`, if any, has been read from its file. */
export type BankConfig = Omit<z.infer<typeof BankConfig>, 'mapping'> & { mapping?: ColumnMapping };
export type BankConfigInput = z.input<typeof BankConfig>;

export const BANK_ENV: Record<string, { key: keyof BankConfigInput; type: 'string' | 'number' }> = {
  FINSECURE_TEST_FRACTION: { key: 'testFraction', type: 'number' },
  FINSECURE_SPLIT: { key: 'split', type: 'string' },
  FINSECURE_LAYOUT: { key: 'layout', type: 'string' },
  FINSECURE_MAPPING: { key: 'mapping', type: 'string' },
  FINSECURE_DP_DELTA: { key: 'dpDelta', type: 'number' },
  FINSECURE_BANK_SEED: { key: 'seed', type: 'number' },
  FINSECURE_RECONNECT_MAX_MS: { key: 'reconnectMaxMs', type: 'number' },
  FINSECURE_SERVER: { key: 'server', type: 'string' },
  FINSECURE_BANK_ID: { key: 'bankId', type: 'string' },
  FINSECURE_BANK_TOKEN: { key: 'token', type: 'string' },
  FINSECURE_DATA: { key: 'data', type: 'string' },
  FINSECURE_TEST_DATA: { key: 'test', type: 'string' },
  FINSECURE_STATE_DIR: { key: 'stateDir', type: 'string' },
  FINSECURE_STATE_KEY_FILE: { key: 'stateKeyFile', type: 'string' },
  FINSECURE_STATE_KEY: { key: 'stateKey', type: 'string' },
  FINSECURE_FEEDBACK_WEIGHT: { key: 'feedbackWeight', type: 'number' },
  FINSECURE_CA_FILE: { key: 'caFile', type: 'string' },
  FINSECURE_DP_CLIP: { key: 'dpClip', type: 'number' },
  FINSECURE_DP_NOISE_MULTIPLIER: { key: 'dpNoiseMultiplier', type: 'number' },
  FINSECURE_DP_EPSILON_BUDGET: { key: 'dpEpsilonBudget', type: 'number' },
  FINSECURE_BACKEND: { key: 'backend', type: 'string' },
  FINSECURE_TRAINING_THREADS: { key: 'trainingThreads', type: 'number' },
  FINSECURE_LOG_LEVEL: { key: 'logLevel', type: 'string' },
  FINSECURE_LOG_FORMAT: { key: 'logFormat', type: 'string' },
};

export class BankConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BankConfigError';
  }
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, { key, type }] of Object.entries(BANK_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (type === 'number') {
      out[key] = envNumber(name, raw, (m) => new BankConfigError(m));
    } else out[key] = raw;
  }
  return out;
}

function fromFile(file: string): Record<string, unknown> {
  return readJsonObjectFile(file, (m) => new BankConfigError(m));
}

/** Flag names as users type them, for error messages. */
const FLAG_NAMES: Record<string, string> = {
  server: '--server',
  bankId: '--bank-id',
  token: '--token / FINSECURE_BANK_TOKEN',
  data: '--data',
  test: '--test',
  testFraction: '--test-fraction',
  dpClip: '--dp-clip',
  dpNoiseMultiplier: '--dp-noise-multiplier',
  dpDelta: '--dp-delta',
  dpEpsilonBudget: '--dp-epsilon-budget',
  stateDir: '--state-dir',
  stateKeyFile: '--state-key-file / FINSECURE_STATE_KEY_FILE',
  stateKey: 'FINSECURE_STATE_KEY',
  feedbackWeight: '--feedback-weight',
  caFile: '--ca-file',
  seed: '--seed',
  backend: '--backend',
  trainingThreads: '--training-threads',
  reconnectMaxMs: '--reconnect-max-ms',
  split: '--split',
  layout: '--layout',
  mapping: '--mapping',
  logLevel: '--log-level',
  logFormat: '--log-format',
};

export function loadBankConfig(sources: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}): BankConfig {
  const merged = {
    ...(sources.file ? fromFile(sources.file) : {}),
    ...(sources.env ? fromEnv(sources.env) : {}),
    ...Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined)),
  };
  const parsed = BankConfig.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const name = FLAG_NAMES[key] ?? key;
      const value = (merged as Record<string, unknown>)[key];
      const missing = i.code === 'invalid_type' && value === undefined;
      // JSON has no Infinity or NaN, but 1e400 parses as Infinity: say what is wrong with it.
      const nonFinite = typeof value === 'number' && !Number.isFinite(value);
      const problem = missing ? 'is required' : nonFinite ? `must be a finite number, got ${value}` : i.message;
      return `  - ${name}: ${problem}`;
    });
    throw new BankConfigError(`invalid bank-client configuration:\n${lines.join('\n')}`);
  }
  const { mapping, ...rest } = parsed.data;
  if (mapping === undefined) return rest;
  return { ...rest, mapping: typeof mapping === 'string' ? readMappingFile(mapping) : mapping };
}

/** Reads and validates a column mapping file (schema: @finsecure/common/data mapping-schema.ts). */
export function readMappingFile(file: string): ColumnMapping {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.message;
    throw new BankConfigError(`--mapping ${file}: cannot read a JSON column mapping: ${why}`);
  }
  try {
    return parseColumnMapping(json, `--mapping ${file}`);
  } catch (err) {
    throw new BankConfigError((err as Error).message);
  }
}
