/**
 * `finsecure-bank accounts`: the account anomaly report of a transaction file, computed
 * inside the bank (nothing leaves it). The work is in @finsecure/common/accounts; this
 * file parses flags, writes the CSV and prints a summary. Exit codes: 2 for bad input
 * (the message names the file, line and column), 1 for a crash.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import {
  ACCOUNT_LAYOUTS,
  accountReportCsv,
  buildAccountReport,
  readAccountTable,
  type AccountDetector,
  type AccountLayoutName,
} from '@finsecure/common/accounts';
import { DataError } from '@finsecure/common/data';

function fail(message: string, code = 2): never {
  process.stderr.write(`finsecure-bank accounts: ${message}\n`);
  process.exit(code);
}

function choice(flag: string, options: readonly string[]) {
  return (value: string): string => {
    if (!options.includes(value))
      throw new InvalidArgumentError(`${flag} must be ${options.join(', ')}, got "${value}"`);
    return value;
  };
}

function number(flag: string, ok: (n: number) => boolean, range: string, int = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || !ok(n))
      throw new InvalidArgumentError(`${flag} must be ${range}, got "${value}"`);
    return n;
  };
}

interface Flags {
  data: string;
  out: string;
  layout: 'auto' | AccountLayoutName;
  detector: AccountDetector;
  contamination: number;
  seed: number;
  neighbors: number;
  reasons: number;
}

/** Registers `accounts` on the finsecure-bank program. */
export function addAccountsCommand(program: Command): void {
  program
    .command('accounts')
    .description(
      'Score every account (or customer) of a transaction file for unusual behaviour and write a report: one row per account ' +
        'with its features, anomaly score, flag and top reasons in words. Unsupervised: needs no fraud labels. Computed here; nothing is sent.',
    )
    .requiredOption('-d, --data <file>', 'transactions file (CSV, Berka trans.asc, or either gzip-compressed)')
    .requiredOption(
      '-o, --out <file>',
      'report CSV: account, features, anomaly_score (higher = more unusual), flagged (0/1), reasons; notes first as # lines',
    )
    .option(
      '--layout <layout>',
      'auto (from the header), handbook (CUSTOMER_ID, TX_DATETIME, TX_AMOUNT, TERMINAL_ID), berka (trans.asc: account_id;date;type;amount;balance;…) ' +
        'or export (Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location)',
      choice('--layout', ['auto', ...ACCOUNT_LAYOUTS]),
      'auto',
    )
    .option(
      '--detector <name>',
      'iforest (Isolation Forest, 100 trees; reasons ranked by which features isolated the account) or lof (Local Outlier Factor; reasons ranked by robust z-score)',
      choice('--detector', ['iforest', 'lof']),
      'iforest',
    )
    .option(
      '--contamination <share>',
      'expected share of unusual accounts, in (0, 0.5]: the accounts above that quantile of the scores are flagged',
      number('--contamination', (n) => n > 0 && n <= 0.5, 'a number > 0 and ≤ 0.5'),
      0.01,
    )
    .option(
      '--seed <n>',
      'seed of the Isolation Forest (same seed, same report)',
      number('--seed', (n) => n >= 0, 'an integer ≥ 0', true),
      1,
    )
    .option(
      '--neighbors <k>',
      'LOF neighbours k (capped at accounts − 1)',
      number('--neighbors', (n) => n >= 1, 'an integer ≥ 1', true),
      20,
    )
    .option(
      '--reasons <n>',
      'reasons given per account',
      number('--reasons', (n) => n >= 1 && n <= 20, 'an integer from 1 to 20', true),
      3,
    )
    .action(async (o: Flags) => {
      const started = performance.now();
      let report;
      let layout;
      try {
        const table = await readAccountTable(o.data, { layout: o.layout });
        layout = table.layout;
        report = buildAccountReport(table, {
          detector: o.detector,
          contamination: o.contamination,
          seed: o.seed,
          numNeighbors: o.neighbors,
          topReasons: o.reasons,
        });
      } catch (err) {
        if (err instanceof DataError || err instanceof RangeError) fail(err.message);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(`--data: no such file: ${o.data}`);
        throw err;
      }
      try {
        // Write beside the target, then rename: a reader never sees half a report.
        const tmp = `${o.out}.tmp-${process.pid}`;
        writeFileSync(tmp, accountReportCsv(report));
        renameSync(tmp, o.out);
      } catch (err) {
        fail(`cannot write --out ${o.out}: ${(err as Error).message}`);
      }
      const n = report.rows.length;
      const lines = [
        `accounts: ${n} (${report.transactions} transactions, ${layout} layout)`,
        `detector: ${o.detector === 'iforest' ? 'Isolation Forest' : `LOF, k = ${Math.min(o.neighbors, Math.max(1, n - 1))}`}, contamination ${o.contamination}`,
        `threshold: anomaly score > ${Number.isNaN(report.threshold) ? 'none (nothing scored)' : report.threshold.toFixed(4)}`,
        `flagged: ${report.flagged} of ${n} accounts`,
        ...report.notes.map((note) => `note: ${note}`),
        `report: ${o.out} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
