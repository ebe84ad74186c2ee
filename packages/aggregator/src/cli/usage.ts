/**
 * Usage errors of `finsecure-aggregator` and its `users` / `audit` subcommands, as the project's other
 * CLIs report them (finsecure-datasets, the research CLI): the one-line error, then
 * "(run with --help for usage)" instead of the whole help, and exit code 2. Also their `--version`.
 */
import { CommanderError, type Command } from 'commander';
import { addVersionOption } from '@finsecure/common/cli';

export const USAGE_HINT = '(run with --help for usage)';

/** Makes `cmd` and all its subcommands throw a CommanderError on bad usage, printing one line and the hint. */
export function strictUsage(cmd: Command): Command {
  cmd.showHelpAfterError(USAGE_HINT).exitOverride();
  for (const sub of cmd.commands) strictUsage(sub);
  return cmd;
}

/** The aggregator's package.json: `--version` reads its version at run time (src/cli/ and dist/cli/ alike). */
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

/** Gives `cmd` `-V, --version`: "<program> <aggregator version> (node <version>)", exit code 0. */
export function withVersion(cmd: Command, program = 'finsecure-aggregator'): Command {
  return addVersionOption(cmd, PACKAGE_JSON, program);
}

/** The exit code for an error thrown by a command made with strictUsage: 0 after --help, 2 on bad usage; undefined for other errors. */
export function usageExitCode(err: unknown): number | undefined {
  if (!(err instanceof CommanderError)) return undefined;
  // Commander already printed the message (or the help for --help / --version).
  return err.exitCode === 0 ? 0 : 2;
}
