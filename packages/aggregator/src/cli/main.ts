#!/usr/bin/env node
/** `finsecure-aggregator`: runs the aggregator until SIGINT/SIGTERM. */
import { ConfigError, loadConfig } from '../config/load.js';
import { CONFIG_FILE_ENV } from '../config/schema.js';
import { createLogger } from '../logger.js';
import { startAggregator } from '../service.js';
import { buildCommand } from './options.js';
import { flagOfSetting } from './option-flags.js';
import { auditCommand, runAuditCli } from './audit.js';
import { strictUsage, usageExitCode, withVersion } from './usage.js';
import { announceRunToken } from './run-token.js';
import { bootstrapFirstAdmin, runUsersCli, usersCommand } from './users.js';

const cmd = buildCommand(async ({ configFile, flags }) => {
  let config;
  try {
    const file = configFile ?? process.env[CONFIG_FILE_ENV];
    config = loadConfig({ ...(file ? { file } : {}), env: process.env, flags, flagName: flagOfSetting });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`finsecure-aggregator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const agg = await startAggregator(config, { logger });
  logger.info({ url: agg.url }, 'aggregator listening');
  // On the terminal, or in a 0600 file of the data directory when stderr is the log (run-token.ts).
  if (agg.adminTokenGenerated) announceRunToken(agg.adminToken, { stream: process.stderr, dataDir: config.dataDir });
  // A store without accounts gets its first admin; its one-time password goes to the terminal
  // (stderr) or, when stderr is not one (a log file, docker logs, journald), to a 0600 file in the
  // data directory, and only that file's path is printed (users.ts FirstAdminOutput).
  await bootstrapFirstAdmin(agg.store, { stream: process.stderr, dataDir: config.dataDir }, agg.url);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await agg.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
});

/** The subcommands, for the main help (their names from their own definitions). */
function subcommandHelp(): string {
  const line = (name: string, sub: ReturnType<typeof usersCommand>) =>
    [
      `  finsecure-aggregator ${name} ${sub.commands.map((c) => c.name()).join('|')}`,
      `      ${sub.description()}`,
      `      (finsecure-aggregator ${name} --help for its options)`,
    ].join('\n');
  return `\nSubcommands:\n${line('users', usersCommand())}\n${line('audit', auditCommand())}\n`;
}
// `--version` is acted on while parsing, before the action loads the config (so a bad one cannot stop it).
withVersion(cmd);
cmd.addHelpText('after', subcommandHelp);
strictUsage(cmd);

// `finsecure-aggregator users …` manages accounts (cli/users.ts), `audit verify` checks the
// audit log and stored data (cli/audit.ts); anything else runs the aggregator.
const main =
  process.argv[2] === 'users'
    ? runUsersCli(process.argv.slice(3))
    : process.argv[2] === 'audit'
      ? runAuditCli(process.argv.slice(3))
      : cmd.parseAsync(process.argv);
main.catch((err: unknown) => {
  const usage = usageExitCode(err);
  if (usage !== undefined) process.exit(usage);
  process.stderr.write(`finsecure-aggregator: ${(err as Error).message}\n`);
  process.exit(1);
});
