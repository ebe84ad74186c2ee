#!/usr/bin/env node
/**
 * `finsecure-bank`: the daemon a bank runs beside its data (`start`, optionally with the bank
 * console), the console alone (`console`) and its people (`users`), and the scorer that
 * applies the latest global model to new transactions (`score`).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { BankConfigError, MAX_WAIT_MS, bankSettingsHelp, loadBankConfig, readMappingFile } from '../config.js';
import { BankClient } from '../client.js';
import { loadLocalData } from '../local-data.js';
import { ScoreInputError, scoreFile } from '../score.js';
import { DataError, isDecimalNotation } from '@finsecure/common/data';
import { addVersionOption } from '@finsecure/common/cli';
import { attachTrainingProgress, createBankLogger } from './terminal.js';
import { addAnonymiseCommand } from './anonymise.js';
import { addAccountsCommand } from './accounts.js';
import { addConsoleCommand, addConsoleFlags, addUsersCommand, consoleFlags, runConsole } from './console.js';
import { CONSOLE_FILE_KEYS, loadConsoleConfig, readConsoleTls } from '../console/config.js';
import { readAuditHeads } from '../audit-heads.js';
import { StateCryptoError } from '../state-crypto/index.js';
import {
  addStateKeyCommand,
  addStateKeyFlag,
  cipherFromKeyOrFail,
  openStateOrFail,
  requireBankState,
} from './state-key.js';

function num(flag: string, opts: { int?: boolean; min?: number; max?: number; gt?: number; lt?: number } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const bad =
      !isDecimalNotation(value) || // '0x10', 'Infinity', '' are not numbers here
      !Number.isFinite(n) ||
      (opts.int && !Number.isInteger(n)) ||
      (opts.min !== undefined && n < opts.min) ||
      (opts.max !== undefined && n > opts.max) ||
      (opts.gt !== undefined && n <= opts.gt) ||
      (opts.lt !== undefined && n >= opts.lt);
    if (bad) {
      const range = [
        opts.min !== undefined ? `≥ ${opts.min}` : '',
        opts.gt !== undefined ? `> ${opts.gt}` : '',
        opts.max !== undefined ? `≤ ${opts.max}` : '',
        opts.lt !== undefined ? `< ${opts.lt}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      throw new InvalidArgumentError(
        `${flag} must be ${opts.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got "${value}"`,
      );
    }
    return n;
  };
}

const MAPPING_HELP =
  'JSON column mapping for a CSV in neither built-in layout: {"label": "is_fraud", "features": [...], ' +
  '"categorical"?: [...], "categories"?: {...}, "ignore"?: [...], "group"?: "...", "time"?: "..."}; every column ' +
  'must be named in it; a column with an empty header cell is "Unnamed: <0-based index>" (an unnamed first column, ' +
  'a pandas index, is ignored unless named); replaces --layout';

/** Bad input to `score`: the data, the model directory or the key; not a crash. */
function isBadScoreInput(err: unknown): boolean {
  return err instanceof DataError || err instanceof StateCryptoError || err instanceof ScoreInputError;
}

function fail(message: string, code = 2): never {
  process.stderr.write(`finsecure-bank: ${message}\n`);
  process.exit(code);
}

const program = new Command('finsecure-bank')
  .description(
    "FinSecure bank client: trains the shared fraud model on this bank's data. Only model updates and aggregate counts leave the bank, never a row.",
  )
  // A usage error is one line and a pointer to --help, exit 2 (as finsecure-datasets).
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

addConsoleFlags(
  program
    .command('start')
    .description(
      'Connect to the aggregator and take part in federated rounds until stopped (Ctrl-C).\n' +
        'Settings come from (lowest to highest priority): --config file (JSON: the keys listed under "Settings" at the end of `finsecure-bank start --help`, and the console\'s, e.g. consolePort), environment (FINSECURE_*), flags.\n' +
        'With --console-port it also serves the bank console (see `finsecure-bank console --help`).\n' +
        "The state key is required (--state-key-file): the bank's state is encrypted at rest; make one with `finsecure-bank state-key new --out <file>`.",
    ),
)
  .option('-c, --config <file>', 'JSON config file')
  .option('-s, --server <url>', 'aggregator WebSocket URL, e.g. ws://localhost:8080/ws/bank (env FINSECURE_SERVER)')
  .option('-b, --bank-id <id>', "this bank's id, as registered by the consortium admin (env FINSECURE_BANK_ID)")
  .option(
    '-t, --token <token>',
    'bank token issued by the admin API; prefer env FINSECURE_BANK_TOKEN or --token-file: command lines are visible in ps',
  )
  .option('--token-file <file>', 'read the bank token from this file')
  .option('-d, --data <file>', 'local transactions CSV (plain or .gz), Kaggle or handbook layout (env FINSECURE_DATA)')
  .option(
    '--test <file>',
    'separate local test CSV for federated evaluation (otherwise --test-fraction of --data is held out)',
  )
  .option(
    '--test-fraction <f>',
    'fraction of --data held out for evaluation when --test is not given, in (0, 1) (default 0.2)',
    num('--test-fraction', { gt: 0, lt: 1 }),
  )
  .option(
    '--split <kind>',
    'how to hold out the test split: stratified (random, keeps the fraud ratio) or time (latest rows)',
  )
  .option(
    '--layout <layout>',
    'CSV layout: auto, kaggle (Time,V1..V28,Amount,Class) or handbook (ULB fraud handbook); default auto',
  )
  .option('--mapping <file.json>', MAPPING_HELP + ' (env FINSECURE_MAPPING; in --config: a path or the object)')
  .option(
    '--dp-clip <C>',
    'differential privacy: clip each update to L2 norm C (needs --dp-noise-multiplier)',
    num('--dp-clip', { gt: 0 }),
  )
  .option(
    '--dp-noise-multiplier <Z>',
    'differential privacy: add Gaussian noise with std Z·C to every coordinate',
    num('--dp-noise-multiplier', { min: 0 }),
  )
  .option('--dp-delta <delta>', 'δ for reporting (ε, δ) (default 1e-5)', num('--dp-delta', { gt: 0, lt: 1 }))
  .option(
    '--dp-epsilon-budget <eps>',
    "decline rounds that would push this bank's ε past this budget",
    num('--dp-epsilon-budget', { gt: 0 }),
  )
  .option('--state-dir <dir>', 'where the latest global model and the privacy ledger are kept (default ./bank-state)')
  .option(
    '--feedback-weight <k>',
    'copies of each label an analyst confirmed in the bank console (confirmed fraud / false positive) added to the training data of the next rounds; 0 turns the feedback loop off (default 3; env FINSECURE_FEEDBACK_WEIGHT)',
    num('--feedback-weight', { int: true, min: 0, max: 100 }),
  )
  .option('--ca-file <file>', 'PEM CA certificate to verify a wss:// aggregator with')
  .option('--seed <n>', 'seed for the local split, SMOTE and batch order (default 1)', num('--seed', { int: true }))
  .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu (default auto)')
  .option(
    '--training-threads <n>',
    'threads for local training and scoring (default 1; env FINSECURE_TRAINING_THREADS): more use more cores for large jobs (≥ 1,200,000 rows × epochs, batches of ≥ 512 rows, ≥ 16,384 rows to score); each extra thread starts once, in ≈ 0.3 s',
    num('--training-threads', { int: true, min: 1, max: 64 }),
  )
  .option(
    '--reconnect-max-ms <ms>',
    'longest wait between reconnection attempts, in ms, at most 86400000 (default 30000; env FINSECURE_RECONNECT_MAX_MS)',
    num('--reconnect-max-ms', { int: true, min: 10, max: MAX_WAIT_MS }),
  )
  .option(
    '--insecure-dp-seed <n>',
    'INSECURE: seed the DP noise for reproducible simulations; never in production',
    num('--insecure-dp-seed', { int: true }),
  )
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
  .option(
    '--log-format <format>',
    'auto (human-readable lines and a training progress bar on a terminal, JSON lines otherwise), pretty or json (default auto)',
  )
  .action(async (o: Record<string, unknown>) => {
    // Both groups of settings are checked before anything is said, so that one start names every
    // problem: the bank's and the console's.
    const problems: string[] = [];
    let config!: ReturnType<typeof loadBankConfig>;
    try {
      config = loadBankConfig({
        ...(o.config ? { file: String(o.config) } : {}),
        env: process.env,
        otherFileKeys: CONSOLE_FILE_KEYS,
        flags: {
          server: o.server,
          bankId: o.bankId,
          token: o.token,
          tokenFile: o.tokenFile,
          data: o.data,
          test: o.test,
          testFraction: o.testFraction,
          split: o.split,
          layout: o.layout,
          mapping: o.mapping,
          dpClip: o.dpClip,
          dpNoiseMultiplier: o.dpNoiseMultiplier,
          dpDelta: o.dpDelta,
          dpEpsilonBudget: o.dpEpsilonBudget,
          stateDir: o.stateDir,
          feedbackWeight: o.feedbackWeight,
          caFile: o.caFile,
          seed: o.seed,
          backend: o.backend,
          trainingThreads: o.trainingThreads,
          reconnectMaxMs: o.reconnectMaxMs,
          insecureDpSeed: o.insecureDpSeed,
          logLevel: o.logLevel,
          logFormat: o.logFormat,
        },
      });
    } catch (err) {
      if (!(err instanceof BankConfigError)) throw err;
      problems.push(err.message);
    }
    let consoleConfig!: ReturnType<typeof loadConsoleConfig>;
    try {
      consoleConfig = loadConsoleConfig({
        ...(o.config ? { file: String(o.config) } : {}),
        env: process.env,
        flags: { ...consoleFlags(o), mapping: undefined },
      });
      readConsoleTls(consoleConfig); // unreadable files refused now, naming the setting
    } catch (err) {
      if (!(err instanceof BankConfigError)) throw err;
      // A file that cannot be read or parsed says so once, not once for each group.
      if (!problems.includes(err.message)) problems.push(err.message);
    }
    if (problems.length) fail(problems.join('\n'));
    const logger = createBankLogger(`bank:${config.bankId}`, config.logLevel, config.logFormat);
    if (o.token)
      logger.warn(
        'the token was given on the command line, where other users of this machine can see it; prefer FINSECURE_BANK_TOKEN or --token-file',
      );
    // The state key before anything else touches the state directory: the flag, then the
    // environment or the config file (merged into config, environment first).
    openStateOrFail(config.stateDir, o.stateKeyFile, logger, {
      FINSECURE_STATE_KEY_FILE: config.stateKeyFile,
      FINSECURE_STATE_KEY: config.stateKey,
    });
    let data;
    try {
      data = await loadLocalData(config, (notice) => logger.warn(notice), consoleConfig.consoleIdColumn);
    } catch (err) {
      fail((err as Error).message);
    }
    logger.info(
      { train: data.train.numRows, test: data.test.numRows, fraud: data.numFraud, features: data.train.numFeatures },
      'local data loaded',
    );
    // The console scores with the same layout and state directory as the daemon, and
    // chooses the operating threshold on the daemon's own held-out split.
    const localData = data;
    const bankConsole =
      consoleConfig.consolePort === undefined
        ? null
        : await runConsole(
            {
              ...consoleConfig,
              stateDir: config.stateDir,
              layout: config.layout,
              ...(config.mapping ? { mapping: config.mapping } : {}),
              backend: config.backend,
            },
            logger,
            { load: async () => localData.test },
          );
    const client = new BankClient(config, data, logger);
    attachTrainingProgress(client);
    client.on('fatal', (err) => {
      logger.error(err.message);
      process.exit(3);
    });
    const stop = async () => {
      logger.info('stopping');
      // Let a model being written finish (bounded), so the state dir is never half-updated.
      await Promise.race([client.stop(), new Promise((r) => setTimeout(r, 5_000))]);
      await bankConsole?.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
    await client.start();
  });

addStateKeyFlag(
  program
    .command('score')
    .description('Write a fraud probability for every transaction in a CSV, using a saved global model'),
  "file holding the bank's state key (see `finsecure-bank start --help`; env FINSECURE_STATE_KEY_FILE or FINSECURE_STATE_KEY): required for a model from the state directory, which is encrypted at rest; a plaintext model from elsewhere (the aggregator's download) needs none",
)
  .requiredOption('-m, --model <dir>', 'model directory (model.json + weights.bin), e.g. <state-dir>/model')
  .requiredOption('-d, --data <file>', 'transactions CSV (plain or .gz); the label column may be absent')
  .requiredOption('-o, --out <file>', 'output CSV: row,fraud_probability (one line per input row, same order)')
  .option('--layout <layout>', 'CSV layout: auto, kaggle or handbook (default auto)')
  .option('--mapping <file.json>', MAPPING_HELP + ' (env FINSECURE_MAPPING)')
  .action(
    async (o: {
      model: string;
      data: string;
      out: string;
      layout?: string;
      mapping?: string;
      stateKeyFile?: string;
    }) => {
      const cipher = cipherFromKeyOrFail(o.stateKeyFile);
      if (o.layout && !['auto', 'kaggle', 'handbook'].includes(o.layout))
        fail(`--layout must be auto, kaggle or handbook, got "${o.layout}"`);
      const mappingFile = o.mapping ?? (process.env.FINSECURE_MAPPING || undefined);
      if (mappingFile && o.layout && o.layout !== 'auto')
        fail('--mapping and --layout cannot be combined: a mapping is the layout');
      let mapping;
      try {
        mapping = mappingFile ? readMappingFile(mappingFile) : undefined;
      } catch (err) {
        fail((err as Error).message);
      }
      try {
        const r = await scoreFile({
          model: o.model,
          data: o.data,
          out: o.out,
          layout: (o.layout ?? 'auto') as 'auto',
          ...(mapping ? { mapping } : {}),
          cipher,
          onNotice: (notice) => process.stderr.write(`finsecure-bank: note: ${notice}\n`),
        });
        process.stdout.write(`scored ${r.rows} transactions with global model v${r.modelVersion} → ${r.out}\n`);
      } catch (err) {
        // Bad input (file, line, column; no model in --model; a model of another width)
        // exits 2 like the other commands; so does a sealed model without its key (the
        // message names the settings); anything else 1.
        fail((err as Error).message, isBadScoreInput(err) ? 2 : 1);
      }
    },
  );

addStateKeyFlag(
  program
    .command('audit-heads')
    .description(
      'Print the aggregator audit heads this bank kept (<state-dir>/audit-heads.jsonl), one JSON object per line, opened with the state key (required, as for start): `finsecure-bank audit-heads > heads.jsonl`, then `finsecure-aggregator audit verify --bank-heads heads.jsonl`',
    ),
)
  .option('--state-dir <dir>', "the bank's state directory (default ./bank-state; env FINSECURE_STATE_DIR)")
  .action((o: { stateDir?: string; stateKeyFile?: string }) => {
    const stateDir = o.stateDir ?? (process.env.FINSECURE_STATE_DIR || './bank-state');
    requireBankState(
      stateDir,
      o.stateDir ? '--state-dir' : process.env.FINSECURE_STATE_DIR ? 'FINSECURE_STATE_DIR' : '--state-dir',
    );
    const cipher = openStateOrFail(stateDir, o.stateKeyFile);
    try {
      for (const h of readAuditHeads(stateDir, cipher)) process.stdout.write(`${JSON.stringify(h)}\n`);
    } catch (err) {
      fail(`${stateDir}/audit-heads.jsonl: ${(err as Error).message}`, 1);
    }
  });

addConsoleCommand(program, MAPPING_HELP);
addStateKeyCommand(program);
addUsersCommand(program);
addAnonymiseCommand(program);
addAccountsCommand(program);
// `finsecure-bank --version` (also after a subcommand: `finsecure-bank start --version`): acted on while
// parsing, before any action loads a config file or the environment.
addVersionOption(program, new URL('../../package.json', import.meta.url));

// Settings of `start`: every config file key with its flag and environment variable, from
// the tables the loader reads (config.ts), so the help cannot drift from them.
const start = program.commands.find((c) => c.name() === 'start')!;
start.addHelpText(
  'after',
  `\nSettings (config file key, flag, environment variable):\n${bankSettingsHelp(
    new Set(start.options.map((opt) => opt.attributeName())),
  )}\n  (the console's keys: see \`finsecure-bank console --help\`)`,
);

program.parseAsync(process.argv).catch((err) => {
  // Commander has printed the message and the pointer to --help (or the help asked for).
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  fail((err as Error).message, 1);
});
