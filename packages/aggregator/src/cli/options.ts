/**
 * Command-line flags of the aggregator (their mapping onto the config schema: option-flags.ts). Secrets (admin
 * and viewer tokens, the MongoDB URI with its password) are deliberately NOT flags:
 * command lines are visible to every user of the machine through `ps`. They come from
 * the environment or the config file.
 */
import { Command, InvalidArgumentError } from 'commander';
import { AggregatorConfig, ENV_VARS } from '../config/schema.js';
import { parsedFlags, settingOfOption, type ParsedFlags } from './option-flags.js';
import { QUARANTINE_HISTORY_ROUNDS } from '../reputation/quarantine.js';
import { USAGE_HINT } from './usage.js';

export type { ParsedFlags } from './option-flags.js';

export function intArg(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer in ${min}..${max}, got "${value}"`);
    return n;
  };
}

export function floatArg(flag: string, min: number, max: number, exclusiveMin = false) {
  return (value: string): number => {
    const n = Number(value);
    // Number() also reads "0x10", "0b1" and "" (as 0): only decimal notation is a number here.
    if (
      !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value.trim()) ||
      !Number.isFinite(n) ||
      n < min ||
      n > max ||
      (exclusiveMin && n === min)
    ) {
      const range =
        max === Number.MAX_VALUE
          ? `${exclusiveMin ? '>' : '≥'} ${min}`
          : `in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
      throw new InvalidArgumentError(`${flag} must be a number ${range}, got "${value}"`);
    }
    return n;
  };
}

export function buildCommand(onRun: (parsed: ParsedFlags) => Promise<void>): Command {
  const cmd = new Command('finsecure-aggregator')
    .description(
      'Runs the FinSecure aggregator: banks connect over WebSocket, rounds of federated training run as configured, ' +
        'and an admin API plus the dashboard are served over HTTP.\n\n' +
        'Settings come from (lowest to highest priority): defaults, --config file (JSON), environment variables, flags.\n' +
        'Secrets are read only from the environment or the config file: FINSECURE_ADMIN_TOKEN, FINSECURE_VIEWER_TOKEN, MONGODB_URI.',
    )
    .option(
      '-c, --config <file>',
      'JSON config file (same keys as the config schema: host, port, rules, training, ...; env FINSECURE_CONFIG)',
    )
    .option('--host <host>', 'interface to listen on (0.0.0.0 for all)')
    .option('-p, --port <port>', 'HTTP/WebSocket port (0 = any free port)', intArg('--port', 0, 65535))
    .option('--data-dir <dir>', 'directory of the SQLite database when MONGODB_URI is not set')
    .option('--sqlite-path <file>', 'SQLite database file (default <data-dir>/finsecure.db)')
    .option(
      '--audit-key <file>',
      'Ed25519 key that signs the audit log head and checkpoints; created with mode 0600 when missing ' +
        '(default <data-dir>/audit-key.pem)',
    )
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS and WSS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--rounds <n>', 'rounds to run before training stops (0 = until stopped)', intArg('--rounds', 0))
    .option(
      '--fraction <f>',
      'fraction of connected banks selected per round, in (0, 1]',
      floatArg('--fraction', 0, 1, true),
    )
    .option('--min-banks <n>', 'connected banks needed before a round starts', intArg('--min-banks', 1))
    .option('--quorum <k>', 'successful updates needed to aggregate a round (k of n)', intArg('--quorum', 1))
    .option('--round-timeout <ms>', 'deadline of the training stage of a round, in ms', intArg('--round-timeout', 100))
    .option('--grace <ms>', 'after quorum, how long to wait for the remaining banks, in ms', intArg('--grace', 0))
    .option('--evaluation-timeout <ms>', 'deadline of the evaluation stage, in ms', intArg('--evaluation-timeout', 100))
    .option('--round-interval <ms>', 'pause between rounds, in ms', intArg('--round-interval', 0))
    .option(
      '--upload-slots <k>',
      'fit uploads granted at once: banks offer their update and send it when granted, so at most k updates ' +
        "are in the aggregator's memory at a time, unless the round pre-grants them (see --upload-pre-grant-bytes)",
      intArg('--upload-slots', 1, 10_000),
    )
    .option(
      '--upload-grant-timeout <ms>',
      'a granted bank whose update has not arrived within this many ms is dropped from the round',
      intArg('--upload-grant-timeout', 100, 3_600_000),
    )
    .option(
      '--upload-pre-grant-bytes <n>',
      "when all selected banks' updates together (each frame and its decoded copy) are at most n bytes, the " +
        'round assignment grants every upload in advance and banks skip the offer (saves a round trip per bank); ' +
        '0 = always offer (the default is the MLP up to 455 banks)',
      intArg('--upload-pre-grant-bytes', 0, 1_073_741_824),
    )
    .option(
      '--strategy <name>',
      'aggregation strategy: fedavg (example-weighted mean), or one robust to a few hostile banks, which ' +
        'take none of the FedAvg options and keep every update of a round in memory (banks × model): fedmedian ' +
        '(coordinate-wise median), krum or multikrum (the updates closest to the others; --byzantine-f), bulyan ' +
        '(Krum selection then a coordinate-wise trimmed mean; --byzantine-f), trimmed-mean (--trim-fraction), ' +
        'centered-clipping (each update clipped around the previous aggregate; --clip-radius; memory of one model)',
    )
    .option(
      '--max-share <f>',
      "cap on any one bank's FedAvg share, in (0, 1] (1 = no cap)",
      floatArg('--max-share', 0, 1, true),
    )
    .option(
      '--normalize-steps',
      "FedAvg: divide each bank's update by its local step count before averaging (FedNova; for banks of very " +
        'different sizes, needs --max-share 1)',
    )
    .option('--no-normalize-steps', 'FedAvg: plain averaging of the updates')
    .option(
      '--loss-exponent <q>',
      'FedAvg: weight banks by examples × (training loss)^q, q in [0, 4]; 0 = examples only',
      floatArg('--loss-exponent', 0, 4),
    )
    .option(
      '--server-learning-rate <lr>',
      'FedAvg: server learning rate, global += lr × averaged update, in (0, 10]; 1 = plain FedAvg',
      floatArg('--server-learning-rate', 0, 10, true),
    )
    .option('--server-momentum <m>', 'FedAvg: server momentum (FedAvgM), in [0, 1) (0 = none)', (v: string) => {
      const n = floatArg('--server-momentum', 0, 1)(v);
      if (n === 1) throw new InvalidArgumentError(`--server-momentum must be a number in [0, 1), got "${v}"`);
      return n;
    })
    .option(
      '--exclude-unhealthy-banks',
      "leave out of rounds a bank whose health check warns (its data's feature statistics or its training loss " +
        "depart from the consortium's); the warning is shown and audited either way",
    )
    .option(
      '--byzantine-f <f>',
      'krum, multikrum, bulyan: number of hostile banks to tolerate; Krum needs quorum >= 2f + 3, Bulyan >= 4f + 3',
      intArg('--byzantine-f', 0, 10_000),
    )
    .option(
      '--multi-krum-m <m>',
      'multikrum: how many of the lowest-scored updates to average (0 = all but f)',
      intArg('--multi-krum-m', 0, 1_000_000),
    )
    .option(
      '--trim-fraction <b>',
      'trimmed-mean: fraction of values dropped from EACH end of every coordinate, in [0, 0.5)',
      (v: string) => {
        const n = floatArg('--trim-fraction', 0, 0.5)(v);
        if (n === 0.5) throw new InvalidArgumentError(`--trim-fraction must be a number in [0, 0.5), got "${v}"`);
        return n;
      },
    )
    .option(
      '--clip-radius <t>',
      'centered-clipping: L2 radius around the previous aggregate each update is clipped to',
      floatArg('--clip-radius', 0, 1e6, true),
    )
    .option(
      '--clip-iterations <l>',
      'centered-clipping: clipping iterations per round, 1..100',
      intArg('--clip-iterations', 1, 100),
    )
    .option(
      '--adaptive-norm-k <k>',
      "any strategy: reject or clip updates whose L2 norm exceeds k × the round's median update norm, k >= 1 " +
        '(0 = off; keeps every update of a round in memory)',
      (v: string) => {
        const n = floatArg('--adaptive-norm-k', 0, 1e6)(v);
        if (n > 0 && n < 1) throw new InvalidArgumentError(`--adaptive-norm-k must be 0 (off) or >= 1, got "${v}"`);
        return n;
      },
    )
    .option(
      '--adaptive-norm-action <a>',
      'what --adaptive-norm-k does to an update above the bound: reject (weight 0) or clip (scaled to the bound)',
    )
    .option(
      '--max-update-norm <n>',
      'largest L2 norm of an update; larger ones are rejected as diverged or hostile',
      floatArg('--max-update-norm', 0, Number.MAX_VALUE, true),
    )
    .option(
      '--secure-aggregation',
      'run rounds as the secagg workflow (SecAgg+): banks mask their updates and the aggregator only ever sees the ' +
        'sum; FedAvg only; with training.dp set, banks add shares of the noise (distributed DP)',
    )
    .option(
      '--secagg-threshold <t>',
      'secure aggregation: shares needed to unmask, > half of each neighbourhood (0 = the smallest majority)',
      intArg('--secagg-threshold', 0, 255),
    )
    .option(
      '--secagg-degree <k>',
      'secure aggregation: neighbours per bank; 0 = every bank up to 50 banks, else about 4·log2(n)',
      intArg('--secagg-degree', 0, 254),
    )
    .option(
      '--secagg-clip <c>',
      'secure aggregation: each masked coordinate (update / local steps) is clipped to ±c; 0 = automatic: 1, or ' +
        'C + 6·z·C/√quorum with distributed DP',
      floatArg('--secagg-clip', 0, 1e6),
    )
    .option(
      '--secagg-fractional-bits <f>',
      'secure aggregation: fixed-point fractional bits; 0 = the most that cannot overflow',
      intArg('--secagg-fractional-bits', 0, 30),
    )
    .option(
      '--secagg-stage-timeout <ms>',
      'secure aggregation: timeout of each key stage in ms',
      intArg('--secagg-stage-timeout', 100, 3_600_000),
    )
    .option(
      '--quarantine-after-exclusions <n>',
      'robust rounds: a bank excluded by the strategy in n consecutive committed rounds is left out until an admin ' +
        'lifts it (POST /api/banks/<id>/quarantine/lift; counted over the last 500 rounds, so n <= 500; default off)',
      intArg('--quarantine-after-exclusions', 1, QUARANTINE_HISTORY_ROUNDS),
    )
    .option(
      '--max-auprc-drop <d>',
      "evaluation gate: a round whose federated AUPRC is more than d below the last committed model's fails " +
        'instead of committing, d in [0, 1] (default off)',
      floatArg('--max-auprc-drop', 0, 1),
    )
    .option(
      '--max-example-ratio <r>',
      "a bank's FedAvg weight is at most r × the median of the other banks' example counts",
      floatArg('--max-example-ratio', 1, 1e6),
    )
    .option(
      '--weight-max-share <s>',
      "cap on one bank's share of a round's FedAvg weight, in (0, 1]; 1 = none",
      floatArg('--weight-max-share', 0, 1, true),
    )
    .option(
      '--evaluation-max-share <s>',
      "cap on one bank's share of the pooled evaluation behind the global metrics, in (0, 1]",
      floatArg('--evaluation-max-share', 0, 1, true),
    )
    .option(
      '--max-noise-multiplier <z>',
      'largest DP noise multiplier an update may declare (its norm bound grows with it)',
      floatArg('--max-noise-multiplier', 0, 10_000, true),
    )
    .option('--epochs <n>', 'local epochs per round', intArg('--epochs', 1, 1000))
    .option('--batch-size <n>', 'local batch size', intArg('--batch-size', 1, 65536))
    .option('--learning-rate <lr>', 'local Adam learning rate', floatArg('--learning-rate', 0, 10, true))
    .option(
      '--smote-ratio <r>',
      "SMOTE target fraud/legitimate ratio on each bank's training split (0 = off)",
      floatArg('--smote-ratio', 0, 1),
    )
    .option('--smote-k <k>', 'SMOTE nearest neighbours', intArg('--smote-k', 1, 50))
    .option(
      '--smote-max-multiplier <m>',
      'SMOTE cap: at most m synthetic rows per real fraud row of a bank, even if the ratio is then not reached',
      floatArg('--smote-max-multiplier', 0, 1_000_000, true),
    )
    .option('--update-encoding <e>', 'encoding of updates on the wire: float32, float16 or int8')
    .option(
      '--input-size <n>',
      'number of model input features (30 for the Kaggle layout, 15 for the handbook layout)',
      intArg('--input-size', 1, 10000),
    )
    .option(
      '--hello-timeout <ms>',
      'time a new bank connection has to authenticate, in ms',
      intArg('--hello-timeout', 100),
    )
    .option(
      '--request-timeout <ms>',
      'time an HTTP request has to arrive whole (headers and body), in ms; a slower one gets 408 and its ' +
        'connection is closed (WebSockets are not held to it once upgraded)',
      intArg('--request-timeout', 100, 3_600_000),
    )
    .option(
      '--unknown-peer-hello-timeout <ms>',
      'hello timeout for a connection from an address no bank has authenticated from yet, in ms; the smaller of ' +
        'this and --hello-timeout applies',
      intArg('--unknown-peer-hello-timeout', 100, 600_000),
    )
    .option(
      '--max-unauthenticated <n>',
      'bank connections waiting to authenticate, all addresses together; when full, the oldest waiting ' +
        'connection of the busiest address is closed to make room',
      intArg('--max-unauthenticated', 1, 100_000),
    )
    .option(
      '--max-unauthenticated-per-address <n>',
      'bank connections waiting to authenticate from one address (IPv6: one /64)',
      intArg('--max-unauthenticated-per-address', 1, 100_000),
    )
    .option(
      '--max-connections-per-address <n>',
      'bank connections from one address, authenticated or not (behind a proxy every bank shares its address)',
      intArg('--max-connections-per-address', 1, 1_000_000),
    )
    .option(
      '--bank-login-max-failures <n>',
      'failed bank logins (bad token, bad hello, hello timeout) from one address within --bank-login-window ' +
        'before its new connections are refused at once until the window ends',
      intArg('--bank-login-max-failures', 1, 1_000_000),
    )
    .option(
      '--bank-login-window <ms>',
      'window of --bank-login-max-failures, in ms (like the REST sign-in limit)',
      intArg('--bank-login-window', 1_000, 86_400_000),
    )
    .option(
      '--refusal-audit-window <ms>',
      'identical connection refusals from one address within this window are one audit entry and log line, ' +
        'then one summary with a count',
      intArg('--refusal-audit-window', 1_000, 86_400_000),
    )
    .option('--auto-start', 'start training as soon as enough banks are connected')
    .option('--seed <n>', 'seed of the initial model and bank selection', intArg('--seed', 0))
    .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .showHelpAfterError(USAGE_HINT)
    .action(async (o: Record<string, unknown>) => onRun(parsedFlags(o)));
  showDefaultsAndEnv(cmd);
  return cmd;
}

function formatDefault(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Appends to each flag's help its default and its environment variable, "(default: 2, env:
 * FINSECURE_QUORUM)", read from the schema's defaults and the loader's ENV_VARS table (not
 * written by hand, so the help cannot drift from what the loader does). Commander's own
 * `.default()` is not used: a flag with a default would always be "given" and override the
 * config file and the environment.
 */
function showDefaultsAndEnv(cmd: Command): void {
  const defaults: unknown = AggregatorConfig.parse({});
  const envOf = new Map<string, string>(Object.entries(ENV_VARS).map(([name, { key }]) => [key, name]));
  for (const opt of cmd.options) {
    if (opt.negate) continue;
    const setting = settingOfOption(opt.attributeName());
    if (!setting) continue;
    const value = setting
      .split('.')
      .reduce<unknown>(
        (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
        defaults,
      );
    const extra: string[] = [];
    if (value !== undefined && value !== null) extra.push(`default: ${formatDefault(value)}`);
    const env = envOf.get(setting);
    if (env) extra.push(`env: ${env}`);
    if (extra.length) opt.description += ` (${extra.join(', ')})`;
  }
}
