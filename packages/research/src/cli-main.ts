/**
 * A research command as a program: output lines, progress bars that appear only on a terminal,
 * and the entry point's error handling (exit 2 for bad input, naming the flag or the file and
 * line; 1 for anything unexpected, with the stack).
 */
import { Command, CommanderError } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { DataError } from '@finsecure/common/data';
import { PartitionError } from '@finsecure/common/partition';
import { ExperimentError } from './experiment.js';
import { removeTempDirsNow } from './temp-dirs.js';
import { RunFailedError } from './run-failed.js';
import { BackendUnavailableError } from '@finsecure/common/model';

/** A problem with what the user asked for: reported without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// ---------------------------------------------------------------- output

export interface Output {
  /** A line for the user (stdout). */
  log(line: string): void;
  /** Whether progress bars may be drawn. */
  interactive: boolean;
}

export const consoleOutput: Output = {
  log: (line) => process.stdout.write(line + '\n'),
  interactive: process.stderr.isTTY === true && process.env.CI === undefined,
};

export interface Bar {
  update(value: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

/** A progress bar on a terminal (stderr); nothing otherwise, so logs and CI output stay clean. */
export function progressBar(out: Output, label: string, total: number, unit: string, extra = ''): Bar {
  if (!out.interactive) return { update: () => {}, setTotal: () => {}, stop: () => {} };
  const bar = new SingleBar(
    {
      format: `${label.padEnd(12)} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}${extra}`,
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  // Placeholders for the payload tokens used in formats (loss, auprc) until the first update.
  bar.start(total, 0, { loss: '-', auprc: '-' });
  return { update: (v, p) => bar.update(v, p ?? {}), setTotal: (t) => bar.setTotal(t), stop: () => bar.stop() };
}

// ---------------------------------------------------------------- entry points

/** Configures a command for clear errors: unknown flags, missing values and bad numbers. */
export function strictCommand(cmd: Command): Command {
  return cmd.showHelpAfterError('(run with --help for usage)').allowExcessArguments(false);
}

function isUsageError(err: unknown): boolean {
  return (
    err instanceof UsageError ||
    err instanceof RunFailedError ||
    err instanceof BackendUnavailableError ||
    err instanceof ExperimentError ||
    err instanceof DataError ||
    err instanceof PartitionError ||
    err instanceof RangeError ||
    // The aggregator's ConfigError (a combination of settings it refuses), by name: importing the
    // aggregator here would load it for every command's --help.
    (err instanceof Error && err.name === 'ConfigError')
  );
}

/**
 * Runs a command as a program: exit 0 on success, 2 on bad input (the message names the
 * flag or the file and line), 1 on anything unexpected (with the stack).
 */
export async function runMain(cmd: Command, argv: readonly string[] = process.argv): Promise<void> {
  cmd.exitOverride();
  // Ctrl-C or a SIGTERM mid-run: the temporary directories hold a copy of the data and the banks'
  // state keys, so they go before the process does (exit 130 / 143, as a shell reports a signal).
  const onSignal = (signal: NodeJS.Signals) => {
    const removed = removeTempDirsNow();
    process.stderr.write(
      `\n${cmd.name()}: interrupted (${signal})${removed.length ? `; removed ${removed.join(', ')}` : ''}\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await cmd.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message (and help for --help / --version).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isUsageError(err)) {
      process.stderr.write(`${cmd.name()}: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${cmd.name()}: unexpected failure: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
