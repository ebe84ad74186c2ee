/**
 * What `finsecure-bank start` does when it runs (main.ts defines the command and its flags):
 * checks the bank's and the console's settings together, opens the state, loads the local
 * data, serves the console if asked and runs the daemon until SIGINT or SIGTERM. Imported by
 * the command's action only: it loads the client, TF.js and the console server, which
 * `finsecure-bank --help` does not need.
 */
import { BankConfigError, loadBankConfig } from '../config/index.js';
import { BankClient } from '../client.js';
import { loadLocalData } from '../local-data.js';
import { CONSOLE_FILE_KEYS, loadConsoleConfig, readConsoleTls } from '../console/config.js';
import { attachTrainingProgress, createBankLogger } from './terminal.js';
import { consoleFlags, runConsole } from './console-run.js';
import { openStateOrFail } from './open-state.js';
import { fail } from './fail.js';
import { checkAccountsSection } from './accounts-config.js';
import { readJsonObjectFile } from '@finsecure/common/config';
import { BackendUnavailableError, initBackend, parseBackendPreference } from '@finsecure/common/model';

/** `finsecure-bank start` with its flags as parsed. */
export async function runStart(o: Record<string, unknown>): Promise<void> {
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
        secaggRoster: o.secaggRoster,
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
  // A shared file's "accounts" object is the `accounts` command's: checked now all the same.
  if (o.config) {
    try {
      const file = String(o.config);
      checkAccountsSection(
        file,
        readJsonObjectFile(file, (m) => new BankConfigError(m)),
      );
    } catch (err) {
      if (!(err instanceof BankConfigError)) throw err;
      if (!problems.includes(err.message)) problems.push(err.message);
    }
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
    // A setting both groups share (stateDir, logLevel), or a file that cannot be read or parsed,
    // is said once, under the bank's heading, not once for each group.
    const said = new Set(problems.flatMap((p) => p.split('\n')));
    const [heading = '', ...items] = err.message.split('\n');
    const fresh = items.filter((line) => !said.has(line));
    if (items.length === 0 ? !said.has(heading) : fresh.length > 0) problems.push([heading, ...fresh].join('\n'));
  }
  if (problems.length) fail(problems.join('\n'));
  const logger = createBankLogger(`bank:${config.bankId}`, config.logLevel, config.logFormat);
  if (o.token)
    logger.warn(
      'the token was given on the command line, where other users of this machine can see it; prefer FINSECURE_BANK_TOKEN or --token-file',
    );
  // The state key before anything else touches the state directory: the flag, then the
  // environment or the config file (merged into config, environment first).
  openStateOrFail(
    config.stateDir,
    o.stateKeyFile,
    logger,
    {
      FINSECURE_STATE_KEY_FILE: config.stateKeyFile,
      FINSECURE_STATE_KEY: config.stateKey,
    },
    config.stateKeyOrigin,
  );
  // A backend asked for by name that cannot run here is a setting to change: said before the data loads.
  try {
    await initBackend(parseBackendPreference(config.backend));
  } catch (err) {
    if (err instanceof BackendUnavailableError) fail(`--backend / FINSECURE_BACKEND: ${err.message}`);
    throw err;
  }
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
}
