/**
 * `--version` of the FinSecure programs: one line, "<program> <version> (node <Node.js version>)",
 * the version read at run time from the package.json of the package the program belongs to. Each
 * program passes that file's URL relative to its own module (`new URL('../../package.json',
 * import.meta.url)` from `src/cli/x.ts`, which is `dist/cli/x.js` once built), so the line names
 * what is actually running, not what was built into it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** The `version` of a package.json; "unknown" when the file cannot be read or has none (never throws). */
export function packageVersion(packageJson: URL): string {
  try {
    const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && pkg.version ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** "finsecure-bank 0.1.0 (node v20.19.0)". */
export function versionLine(program: string, packageJson: URL): string {
  return `${program} ${packageVersion(packageJson)} (node ${process.version})`;
}

/**
 * Gives `cmd` the `-V, --version` flag: prints versionLine and exits 0 (through the command's
 * exitOverride, as a CommanderError with exit code 0, where one is set). Commander acts on it while
 * parsing the command line, before any action runs, so it works whatever the config file or the
 * environment say; a program's options are also recognised after a subcommand's name
 * (`finsecure-bank start --version`). `program` defaults to the command's name.
 */
export function addVersionOption(cmd: Command, packageJson: URL, program: string = cmd.name()): Command {
  cmd.version(versionLine(program, packageJson), '-V, --version', 'print the version and exit');
  showGlobalOptions(cmd);
  return cmd;
}

/**
 * Makes the help of every subcommand of `cmd` (those it has now) list, under "Global Options", the
 * options of the commands above it that it also accepts: `--version` above all, which a
 * subcommand's own help would otherwise not mention (`finsecure-aggregator users list --help`).
 */
function showGlobalOptions(cmd: Command): void {
  for (const sub of cmd.commands) {
    sub.configureHelp({ ...sub.configureHelp(), showGlobalOptions: true });
    showGlobalOptions(sub);
  }
}
