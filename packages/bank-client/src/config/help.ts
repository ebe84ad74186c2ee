/**
 * What `finsecure-bank start --help` says about the settings: the table of every config file key
 * with its flag and environment variable (generated from the tables the loader reads, schema.ts and env.ts,
 * so it cannot drift from them), and the texts of settings that need more than a flag's line.
 */
import { BANK_ENV } from './env.js';
import { BANK_FILE_KEYS, flagOf } from './problems.js';
import {
  DEFAULT_CALIBRATION_MAX_BINS,
  DEFAULT_EVALUATION_MAX_BINS,
  DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER,
} from './schema.js';

/**
 * Settings a config file (or the environment) may hold that have no flag of their own, with
 * what they mean: --help lists them from here.
 */
export const BANK_CONFIG_ONLY: Record<string, string> = {
  reconnectMinMs: 'shortest wait between reconnection attempts, in ms, an integer from 10 to 86400000 (default 500)',
  welcomeTimeoutMs:
    "how long an open connection waits for the aggregator's welcome before it counts as failed and is retried, in ms, an integer from 100 to 86400000 (default 60000)",
  stateKey: 'the state key itself (base64 or hex), instead of --state-key-file; prefer a file',
  segmentExact:
    'true to answer segmentation stages without differential privacy (jobs without "privacy"): exact sums an aggregator could difference into one customer\'s features (default false: such stages are declined)',
  segmentMinCount:
    'the fewest customers a segment may hold in a segmentation answer (and the bank must have for the exact feature moments); smaller ones are released as empty, so that an outlier isolated by chance is not published (it does not stop an aggregator that differences exact answers: see segmentExact). In a noised (DP) answer the floor applies to the noised count, which is post-processing: it costs no ε and does not depend on the true count; an integer from 1 to 1000000 (default 10)',
  segmentMinNoiseMultiplier: `the least noise multiplier z a segmentation release counts as differentially private with; a job asking for less (e.g. 1e-9, which hides nothing) is answered only as an exact answer, with segmentExact. At z = 1 the noise's standard deviation equals the most one customer can change a release, so one release cannot single a customer out (ε ≈ 4.8 at δ = 1e-5 per release); the dashboard and npm start ask for z = 2 (Lloyd steps) and 3 (histogram); a number > 0 (default ${DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER}). Every DP release is also recorded in the bank's analytics ε ledger first, and refused if it would take ε past --dp-epsilon-budget (or to infinity)`,
  calibrationExact:
    "true to answer calibration jobs: the histogram of the bank's per-account anomaly scores, exact (no noise: noised counts would bury the few accounts of the tail the threshold is about). An account alone in its bin has its score published to within that bin, so only the bank may allow it (default false: calibration jobs are declined)",
  calibrationMaxBins: `the most bins a calibration histogram may have, whatever the job asks: a fine histogram puts most accounts alone in their bin; a job's bins must divide it (each answer coarsens one histogram of this many bins); an integer from 2 to 10000 (default ${DEFAULT_CALIBRATION_MAX_BINS}, the aggregator's default job)`,
  evaluationMaxBins: `the most score-histogram bins the bank evaluates a round's candidate with; a request for more is declined (the aggregator's histogramBins): finer bins put more of the test split's rows alone in their bin, their scores then read to within the bin; an integer from 2 to 10000 (default ${DEFAULT_EVALUATION_MAX_BINS}, the aggregator's default)`,
  secureOnly:
    'true: the bank takes part only in secure rounds and declines plain round assignments and plaintext evaluation requests, whose update and counts the aggregator would see unmasked; false: it takes part in both. Default: true with a secaggRoster, false without one',
  calibrationMinAccounts:
    "the fewest scored accounts the bank sends a calibration histogram for (the job's minAccounts is the aggregator's, and can be 0); an integer from 1 to 1000000 (default 10)",
  secaggRoster:
    'JSON file mapping each consortium bank\'s id to its identity public key, {"bank-a": "<identityKey>", …} (each bank logs its own identityKey at start; exchange them out of band): secure rounds (training and segmentation) naming a bank not on it, or another key for one, are declined. Without it the bank trusts on first use the keys the aggregator forwards, which does not stop an aggregator that invents banks whose keys it holds and makes them a bank\'s only neighbours: it then learns that bank\'s update',
};

/**
 * What settings that have a flag mean beyond the flag's own line: --help prints it in the
 * settings table (a key in BANK_CONFIG_ONLY that gains a flag keeps its text, without the
 * "config file only" label).
 */
export const BANK_SETTING_NOTES: Record<string, string> = {
  seed: "given explicitly (flag, env or config file), it also makes local training reproducible: the same round, global model and data give bit-identical updates, for research. The price: an aggregator can then replay a secure round and subtract two secure sums to isolate one bank's update (only DP bounds that). Left to the default (1 for the split and SMOTE), each training run mixes in fresh randomness",
};

/**
 * The settings table of `start --help`: every key of the config file with its flag and
 * environment variable, generated from the tables the loader reads.
 */
export function bankSettingsHelp(flagKeys: ReadonlySet<string>): string {
  const envOf = (key: string) =>
    Object.entries(BANK_ENV)
      .filter(([, v]) => v.key === key)
      .map(([n]) => n);
  const width = Math.max(20, ...BANK_FILE_KEYS.map((k) => k.length + 1));
  const rows = BANK_FILE_KEYS.map((key) => {
    const note = BANK_CONFIG_ONLY[key] ?? BANK_SETTING_NOTES[key];
    const where = [
      ...(flagKeys.has(key) ? [flagOf(key)] : []),
      ...envOf(key).map((n) => `env ${n}`),
      ...(note ? [flagKeys.has(key) ? note : `config file only: ${note}`] : []),
    ];
    return `  ${key.padEnd(width)} ${where.join('; ') || 'config file only'}`;
  });
  return rows.join('\n');
}
