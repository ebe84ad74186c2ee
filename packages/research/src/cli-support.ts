/**
 * What the research commands share: flag parsers with clear messages, and the data, training
 * and federation flags. Output, progress bars and a command's entry point are cli-main.ts's,
 * re-exported here so that a command imports its toolkit from one place.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readJsonFile } from '@finsecure/common/config';
import { parseColumnMapping, type ColumnMapping } from '@finsecure/common/data';
import { PARTITION_SCHEMES, schemeNeedsAlpha, type PartitionScheme } from '@finsecure/common/partition';
import type { ExperimentOptions, SplitKind } from './experiment.js';
import { UsageError } from './cli-main.js';
import {
  RESEARCH_TRAINING,
  RESEARCH_STRATEGY,
  DEFAULT_ROUNDS,
  type Backend,
  type StrategySettings,
} from './training.js';

export * from './cli-main.js';

// ---------------------------------------------------------------- parsers

export function intArg(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const v = Number(raw);
    if (!/^\s*[+-]?\d+\s*$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
      throw new InvalidArgumentError(`${flag} must be an integer ${range}, got "${raw}".`);
    }
    return v;
  };
}

export function numArg(flag: string, ok: (v: number) => boolean, what: string) {
  return (raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || !ok(v))
      throw new InvalidArgumentError(`${flag} must be ${what}, got "${raw}".`);
    return v;
  };
}

// ---------------------------------------------------------------- shared flags

export interface DataFlags {
  data?: string;
  synthetic?: number;
  train?: string;
  test?: string;
  fraudRate: number;
  layout: 'auto' | 'kaggle' | 'handbook';
  /** A column mapping file (datasets/README.md) for a CSV in another layout; not with --layout. */
  mapping?: string;
  seed: number;
  banks: number;
  scheme: PartitionScheme;
  alpha: number;
  /** Unset = stratified (left without a commander default so that --train/--test can refuse an explicit one). */
  split?: Exclude<SplitKind, 'given'>;
  /** Unset = 0.2 (see split). */
  testFraction?: number;
  minFraudPerBank: number;
}

/** --data/--synthetic/--train+--test, --seed and the split/partition flags (which reproduce the simulation's split). */
export function addDataOptions(cmd: Command): Command {
  return cmd
    .option(
      '--data <csv>',
      'transactions CSV (Kaggle creditcard.csv or ULB handbook layout, .gz allowed); the shared test set is split off it ' +
        '(--split, --test-fraction)',
    )
    .option(
      '--train <csv>',
      'a given split instead of --data: these rows are partitioned among the banks (with --test; same layout and ' +
        'features; --split and --test-fraction do not apply)',
    )
    .option('--test <csv>', 'the shared test set of a given split (with --train): held out, only ever evaluated on')
    .option(
      '--synthetic <rows>',
      'generate this many synthetic Kaggle-like rows instead of reading --data',
      intArg('--synthetic', 100, 50_000_000),
    )
    .option(
      '--fraud-rate <r>',
      'fraud rate of --synthetic data',
      numArg('--fraud-rate', (v) => v > 0 && v < 1, 'a number in (0, 1)'),
      0.01,
    )
    .addOption(new Option('--layout <name>', 'CSV layout').choices(['auto', 'kaggle', 'handbook']).default('auto'))
    .option(
      '--mapping <json>',
      'column mapping for a CSV in another layout (label, features, ignore, time, group; see datasets/README.md); not with --layout',
    )
    .option(
      '--seed <n>',
      'seed of the split, the partition, the initial model and training',
      intArg('--seed', 0, 2_147_483_647),
      42,
    )
    .option('--banks <n>', 'number of banks the training rows are partitioned into', intArg('--banks', 1, 1000), 10)
    .addOption(
      new Option(
        '--scheme <scheme>',
        'how training rows are partitioned among banks: iid; dirichlet (label skew, per-class shares ~ Dir(α)); ' +
          'quantity (bank sizes ~ Dir(α), labels iid); natural (whole customers, banks of equal size); natural-skew ' +
          '(whole customers, bank sizes ~ Dir(α)); natural and natural-skew need customer ids (handbook CUSTOMER_ID)',
      )
        .choices([...PARTITION_SCHEMES])
        .default('dirichlet'),
    )
    .option(
      '--alpha <a>',
      'Dirichlet concentration for --scheme dirichlet/quantity/natural-skew (smaller = more skewed)',
      numArg('--alpha', (v) => v > 0 && v <= 1e6, 'a number > 0'),
      0.5,
    )
    .addOption(
      new Option(
        '--split <kind>',
        'shared test set: stratified (random, keeps the fraud rate) or time (latest rows) (default: stratified; not ' +
          'with --train/--test)',
      ).choices(['stratified', 'time']),
    )
    .option(
      '--test-fraction <f>',
      'fraction of rows held out as the shared test set (default: 0.2; not with --train/--test)',
      numArg('--test-fraction', (v) => v > 0 && v < 1, 'a number in (0, 1)'),
    )
    .option(
      '--min-fraud-per-bank <n>',
      'fraud rows guaranteed to every bank (moved from the richest bank)',
      intArg('--min-fraud-per-bank', 0, 1_000_000),
      1,
    );
}

/** Reads and validates --mapping (common/data mapping-schema.ts); a bad file is a UsageError naming it. */
function readMapping(file: string): ColumnMapping {
  const json = readJsonFile(file, (m) => new UsageError(`--mapping: ${m}`), 'column mapping');
  try {
    return parseColumnMapping(json, `--mapping ${file}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function experimentOptions(f: DataFlags): ExperimentOptions {
  const sources = [
    f.data !== undefined ? '--data' : null,
    f.synthetic !== undefined ? '--synthetic' : null,
    f.train !== undefined || f.test !== undefined ? '--train/--test' : null,
  ].filter((x) => x !== null);
  if (sources.length > 1)
    throw new UsageError(
      `give one source of data, not ${sources.join(' and ')}: --data <csv>, --synthetic <rows>, or --train <csv> --test <csv>`,
    );
  if (sources.length === 0)
    throw new UsageError(
      '--data <csv> is required (or --synthetic <rows> for generated data, or --train <csv> --test <csv> for a given split)',
    );
  const given = f.train !== undefined || f.test !== undefined;
  if (given) {
    if (f.train === undefined) throw new UsageError('--test needs --train <csv>: give both files of the split');
    if (f.test === undefined) throw new UsageError('--train needs --test <csv>: give both files of the split');
    if (f.split !== undefined)
      throw new UsageError(`--split ${f.split} does not apply with --train/--test: the test set is given`);
    if (f.testFraction !== undefined)
      throw new UsageError('--test-fraction does not apply with --train/--test: the test set is given');
  }
  if (f.mapping !== undefined && f.layout !== 'auto')
    throw new UsageError(`--mapping and --layout ${f.layout} both say how to read the file: give one`);
  if (f.mapping !== undefined && f.synthetic !== undefined)
    throw new UsageError('--mapping applies to a CSV (--data, --train/--test), not to --synthetic data');
  return {
    ...(f.data !== undefined ? { data: f.data } : {}),
    ...(f.synthetic !== undefined ? { synthetic: f.synthetic, fraudRate: f.fraudRate } : {}),
    ...(given ? { train: f.train!, test: f.test! } : {}),
    layout: f.mapping !== undefined ? readMapping(f.mapping) : f.layout,
    seed: f.seed,
    banks: f.banks,
    scheme: f.scheme,
    ...(schemeNeedsAlpha(f.scheme) ? { alpha: f.alpha } : {}),
    split: given ? 'given' : (f.split ?? 'stratified'),
    ...(given ? {} : { testFraction: f.testFraction ?? 0.2 }),
    minFraudPerBank: f.minFraudPerBank,
  };
}

export interface TrainingFlags {
  batchSize: number;
  learningRate: number;
  smoteRatio: number;
  smoteK: number;
  /** Synthetic rows per real fraud at most, or 'none' (read it with smoteCapOf). */
  smoteMaxMultiplier: number | 'none';
  backend: Backend;
}

/** A number ≥ 0, or "none": for caps that can be switched off. */
export function capArg(flag: string) {
  return (raw: string): number | 'none' => {
    if (raw.trim().toLowerCase() === 'none') return 'none';
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || v < 0)
      throw new InvalidArgumentError(`${flag} must be a number ≥ 0 or "none", got "${raw}".`);
    return v;
  };
}

/** Local-training flags other than --epochs (whose meaning differs per command). */
export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--batch-size <n>', 'mini-batch size', intArg('--batch-size', 1, 65_536), RESEARCH_TRAINING.batchSize)
    .option(
      '--learning-rate <lr>',
      'Adam learning rate',
      numArg('--learning-rate', (v) => v > 0 && v <= 10, 'a number in (0, 10]'),
      RESEARCH_TRAINING.learningRate,
    )
    .option(
      '--smote-ratio <r>',
      'SMOTE target fraud/legitimate ratio on training data (0 = off)',
      numArg('--smote-ratio', (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
      RESEARCH_TRAINING.smoteRatio,
    )
    .option('--smote-k <k>', 'SMOTE nearest neighbours', intArg('--smote-k', 1, 50), RESEARCH_TRAINING.smoteK)
    .option(
      '--smote-max-multiplier <m>',
      'SMOTE cap: at most m synthetic rows per real fraud row of a bank (or of the pooled data), even if the ratio is ' +
        'then not reached; "none" = no cap. Stops a bank with 1 fraud among 25,000 rows from making 2,500 copies of it',
      capArg('--smote-max-multiplier'),
      RESEARCH_TRAINING.smoteMaxMultiplier,
    )
    .addOption(
      new Option('--backend <name>', 'TF.js backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    );
}

export interface FederationFlags {
  rounds: number;
  epochs: number;
  quorum?: number;
  grace?: number;
  roundTimeout: number;
  dpClip?: number;
  dpNoiseMultiplier?: number;
  dpDelta: number;
  maxShare: number;
  normalizeSteps: boolean;
  lossExponent: number;
  serverLearningRate: number;
  serverMomentum: number;
  updateEncoding: 'float32' | 'float16' | 'int8';
  logLevel: string;
  secureAggregation: boolean;
}

/** Flags of the federated arm (simulate and compare). */
export function addFederationOptions(cmd: Command): Command {
  return cmd
    .option(
      '--rounds <n>',
      'federated rounds (local-only banks train for the same rounds × epochs)',
      intArg('--rounds', 1, 10_000),
      DEFAULT_ROUNDS,
    )
    .option('--epochs <n>', 'local epochs per round', intArg('--epochs', 1, 1000), RESEARCH_TRAINING.epochs)
    .option('--quorum <k>', 'updates needed to aggregate a round (default: all banks)', intArg('--quorum', 1, 1000))
    .option(
      '--grace <ms>',
      'after the quorum, how long to wait for the other banks (default 0 with a quorum below --banks)',
      intArg('--grace', 0, 3_600_000),
    )
    .option(
      '--round-timeout <ms>',
      'deadline of each fit and evaluation stage',
      intArg('--round-timeout', 100, 86_400_000),
      1_800_000,
    )
    .option(
      '--dp-clip <c>',
      'differential privacy: L2 clipping bound of each update (with --dp-noise-multiplier)',
      numArg('--dp-clip', (v) => v > 0, 'a number > 0'),
    )
    .option(
      '--dp-noise-multiplier <z>',
      'differential privacy: Gaussian noise multiplier (with --dp-clip)',
      numArg('--dp-noise-multiplier', (v) => v >= 0, 'a number ≥ 0'),
    )
    .option(
      '--dp-delta <d>',
      'differential privacy: δ for reporting ε',
      numArg('--dp-delta', (v) => v > 0 && v < 1, 'a number in (0, 1)'),
      1e-5,
    )
    .option(
      '--max-share <f>',
      "cap on any one bank's FedAvg share, in (0, 1] (1 = no cap: weights proportional to examples); only without " +
        'step normalisation (--no-normalize-steps)',
      numArg('--max-share', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
      RESEARCH_STRATEGY.maxShare,
    )
    .option(
      '--normalize-steps',
      "FedAvg divides each bank's delta by its local optimiser steps (epochs × batches) before averaging by examples " +
        '(FedNova), so a bank with 10× the rows counts 10×, not 100×',
      RESEARCH_STRATEGY.normalizeSteps,
    )
    .option(
      '--no-normalize-steps',
      "plain FedAvg weighting of the deltas by examples only (the aggregator's default is to normalise, as here)",
    )
    .option(
      '--loss-exponent <q>',
      'weight each bank by its examples × its reported training loss^q (q-FFL), so banks whose frauds the model still ' +
        'misses pull harder; 0 = examples only',
      numArg('--loss-exponent', (v) => v >= 0 && v <= 4, 'a number in [0, 4]'),
      RESEARCH_STRATEGY.lossExponent,
    )
    .option(
      '--server-learning-rate <eta>',
      'server learning rate η: the global model moves η × the averaged update per round (1 = plain FedAvg)',
      numArg('--server-learning-rate', (v) => v > 0 && v <= 10, 'a number in (0, 10]'),
      RESEARCH_STRATEGY.serverLearningRate,
    )
    .option(
      '--server-momentum <beta>',
      'server momentum β in [0, 1) (FedAvgM: v ← βv + update, global += η v; 0 = none)',
      numArg('--server-momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)'),
      RESEARCH_STRATEGY.serverMomentum,
    )
    .option(
      '--secure-aggregation',
      'secure aggregation (SecAgg+): banks mask their updates and the aggregator only unmasks their sum (the ' +
        "aggregator's secureAggregation rule; FedAvg only; with --dp-clip and --dp-noise-multiplier, distributed DP). compare then runs the federation twice, " +
        'plaintext and secure, and reports their AUPRC side by side',
      false,
    )
    .addOption(
      new Option('--update-encoding <e>', 'encoding of updates on the wire')
        .choices(['float32', 'float16', 'int8'])
        .default('float32'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level of the aggregator and bank clients (to stderr)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('silent'),
    );
}

export function dpOf(f: FederationFlags): { clip: number; noiseMultiplier: number; delta: number } | undefined {
  if ((f.dpClip === undefined) !== (f.dpNoiseMultiplier === undefined)) {
    throw new UsageError('--dp-clip and --dp-noise-multiplier must be given together');
  }
  return f.dpClip !== undefined
    ? { clip: f.dpClip, noiseMultiplier: f.dpNoiseMultiplier!, delta: f.dpDelta }
    : undefined;
}

/** The SMOTE cap of the training flags: null when switched off. */
export function smoteCapOf(f: Pick<TrainingFlags, 'smoteMaxMultiplier'>): number | null {
  return f.smoteMaxMultiplier === 'none' ? null : f.smoteMaxMultiplier;
}

/** The FedAvg options of the federated arm, checked together. */
export function strategyOf(f: FederationFlags): StrategySettings {
  if (f.normalizeSteps && f.maxShare < 1)
    throw new UsageError(
      `--max-share ${f.maxShare} cannot be combined with step normalisation (it over-amplifies the smallest banks); ` +
        'use --max-share 1, or --no-normalize-steps',
    );
  return {
    maxShare: f.maxShare,
    normalizeSteps: f.normalizeSteps,
    lossExponent: f.lossExponent,
    serverLearningRate: f.serverLearningRate,
    serverMomentum: f.serverMomentum,
  };
}

export function checkQuorum(f: FederationFlags, banks: number): void {
  if (f.quorum !== undefined && f.quorum > banks)
    throw new UsageError(`--quorum ${f.quorum} cannot exceed --banks ${banks}`);
}
