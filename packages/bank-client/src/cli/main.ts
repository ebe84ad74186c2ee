#!/usr/bin/env node
/**
 * `finsecure-bank`: the daemon a bank runs beside its data (`start`, optionally with the bank
 * console), the console alone (`console`) and its people (`users`), and the scorer that
 * applies the latest global model to new transactions (`score`).
 *
 * This file and the command modules it imports define the commands and their flags only, and
 * import nothing heavy: `--help`, `--version` and `<command> --help` must answer at once. Each
 * action import()s what it runs (start-run.ts, score-run.ts, console-run.ts …), so the
 * client, TF.js, the console server and SQLite load only for the command that uses them.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { bankSettingsHelp, MAX_WAIT_MS } from '../config/index.js';
import { isDecimalNotation } from '@finsecure/common/data';
import { addVersionOption } from '@finsecure/common/cli';
import { addAnonymiseCommand } from './anonymise.js';
import { addAccountsCommand } from './accounts.js';
import { addConsoleCommand, addConsoleFlags, addUsersCommand } from './console.js';
import { addStateKeyCommand, addStateKeyFlag } from './state-key.js';
import { fail } from './fail.js';
import type { ScoreOptions } from './score-run.js';

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
  .option(
    '--seed <n>',
    'seed for the local split and SMOTE (default 1); given explicitly, also makes local training reproducible, for research only: a replayed secure round then returns identical updates that an aggregator can difference',
    num('--seed', { int: true }),
  )
  .option(
    '--secagg-roster <file>',
    "JSON file mapping each consortium bank's id to its identity public key (see `finsecure-bank identity`); secure rounds naming a bank not on it are declined (env FINSECURE_SECAGG_ROSTER)",
  )
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
  .action(async (o: Record<string, unknown>) => (await import('./start-run.js')).runStart(o));

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
  .action(async (o: ScoreOptions) => (await import('./score-run.js')).runScore(o));

addStateKeyFlag(
  program
    .command('audit-heads')
    .description(
      'Print the aggregator audit heads this bank kept (<state-dir>/audit-heads.jsonl), one JSON object per line, opened with the state key (required, as for start): `finsecure-bank audit-heads > heads.jsonl`, then `finsecure-aggregator audit verify --bank-heads heads.jsonl`',
    ),
)
  .option('--state-dir <dir>', "the bank's state directory (default ./bank-state; env FINSECURE_STATE_DIR)")
  .action(async (o: { stateDir?: string; stateKeyFile?: string }) =>
    (await import('./audit-heads-run.js')).printAuditHeads(o),
  );

program
  .command('identity')
  .description(
    'Print this bank\'s secure-aggregation identity public key as its entry of the consortium\'s roster, {"<bank-id>": "<identityKey>"} (the bare key without a bank id): give it to the other banks\' operators for their secaggRoster. Makes the key (0600, in the state directory) if the bank has none yet, the one `finsecure-bank start` then uses; the private key never leaves the file.',
  )
  .option('--state-dir <dir>', "the bank's state directory (default ./bank-state; env FINSECURE_STATE_DIR)")
  .option('-b, --bank-id <id>', "this bank's id, the roster entry's name (env FINSECURE_BANK_ID)")
  .action(async (o: { stateDir?: string; bankId?: string }) => (await import('./identity-run.js')).printIdentity(o));

addConsoleCommand(program, MAPPING_HELP);
addStateKeyCommand(program);
addUsersCommand(program);
addAnonymiseCommand(program);
addAccountsCommand(program);
// `finsecure-bank --version` (also after a subcommand: `finsecure-bank start --version`): acted on while
// parsing, before any action loads a config file or the environment.
addVersionOption(program, new URL('../../package.json', import.meta.url));

// Settings of `start`: every config file key with its flag and environment variable, from
// the tables the loader reads (config/schema.ts and env.ts, by config/help.ts), so the help cannot drift from them.
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
