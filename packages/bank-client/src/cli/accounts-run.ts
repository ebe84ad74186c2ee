/**
 * What `finsecure-bank accounts` does when it runs (accounts.ts defines the command): gathers
 * and validates the settings, computes the report (../account-report.ts), writes the CSV and
 * prints a summary. Exit codes: 2 for bad input or settings, 1 for a crash. Imported by the
 * command's action only, so that `finsecure-bank --help` does not load the report code.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { accountReportCsv } from '@finsecure/common/accounts';
import { DataError } from '@finsecure/common/data';
import { reportSummary, runAccountReport } from '../account-report.js';
import { BankConfigError } from '../config/index.js';
import { loadAccountsConfig } from './accounts-config.js';

function fail(message: string, code = 2): never {
  process.stderr.write(`finsecure-bank accounts: ${message}\n`);
  process.exit(code);
}

/** `finsecure-bank accounts` with its flags as parsed. */
export async function accountsReport(flags: Record<string, string | undefined>): Promise<void> {
  let cfg;
  try {
    cfg = loadAccountsConfig({ file: flags.config, env: process.env, flags });
  } catch (err) {
    if (err instanceof BankConfigError) fail(err.message);
    throw err;
  }
  let run;
  try {
    run = await runAccountReport(cfg.data, cfg);
  } catch (err) {
    if (err instanceof DataError || err instanceof RangeError) fail(err.message);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(`--data: no such file: ${cfg.data}`);
    throw err;
  }
  // Write beside the target, then rename: a reader never sees half a report. A failed
  // write or rename (--out a directory) leaves no temporary copy of the report behind.
  const tmp = `${cfg.out}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, accountReportCsv(run.report));
    renameSync(tmp, cfg.out);
  } catch (err) {
    rmSync(tmp, { force: true });
    fail(`cannot write --out ${cfg.out}: ${(err as Error).message}`);
  }
  const lines = [...reportSummary(run, cfg), `report: ${cfg.out} (${run.seconds.toFixed(1)} s)`];
  process.stdout.write(lines.join('\n') + '\n');
}
