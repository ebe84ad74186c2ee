/**
 * Bank-client configuration: one zod schema, fed from a JSON file, the environment and
 * flags (in that order of priority), validated before anything connects or loads data
 * (load.ts). The token is read from FINSECURE_BANK_TOKEN, a token file or the config file; it may
 * also be passed as a flag, with a warning, since command lines are visible in `ps`.
 */
import { columnMappingSchema, type ColumnMapping } from '@finsecure/common/data';
import { MIN_SEGMENT_NOISE_MULTIPLIER } from '@finsecure/common/kmeans';
import { z } from 'zod';
import type { SecAggRoster } from '../secagg/roster.js';

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
