/**
 * `finsecure-bank accounts`: the account anomaly report of a transaction file, computed
 * inside the bank (nothing leaves it). The work is in ../account-report.ts (shared with the
 * console's Accounts page); this file defines the command and its flags. accounts-run.ts,
 * which the action imports (every invocation loads this file, `--help` included), gathers the
 * settings (flags, FINSECURE_ACCOUNTS_* environment, a JSON config file: validated before
 * anything is read), writes the CSV and prints a summary. Exit codes: 2 for bad input or
 * settings (the message names the file, line and column, or the setting), 1 for a crash.
 */
import { Command } from 'commander';
import { ACCOUNT_LAYOUTS } from '@finsecure/common/accounts';
import { ACCOUNTS_ENV } from './accounts-env.js';
import { MAX_NEIGHBORS } from '../account-report.js';

const env = (key: string) =>
  Object.entries(ACCOUNTS_ENV)
    .filter(([, v]) => v.key === key)
    .map(([name]) => name)[0];

/** Registers `accounts` on the finsecure-bank program. */
export function addAccountsCommand(program: Command): void {
  program
    .command('accounts')
    .description(
      'Score every account (or customer) of a transaction file for unusual behaviour and write a report: one row per account ' +
        'with its features, anomaly score, flag and top reasons in words. Unsupervised: needs no fraud labels. Computed here; nothing is sent.\n' +
        'Settings come from (lowest to highest priority): --config file (JSON; the keys below in camelCase, at the top level or in an ' +
        '"accounts" object), environment (FINSECURE_ACCOUNTS_*), flags. All are validated before the file is read.',
    )
    .option('-c, --config <file>', 'JSON config file')
    .option(
      '-d, --data <file>',
      `transactions file (CSV, Berka trans.asc, or either gzip-compressed); env ${env('data')}`,
    )
    .option(
      '-o, --out <file>',
      'report CSV: account, features, anomaly_score (higher = more unusual), flagged (0/1), reasons; notes first as # lines; ' +
        `env ${env('out')}`,
    )
    .option(
      '--layout <layout>',
      `auto (from the header; default), handbook (CUSTOMER_ID, TX_DATETIME, TX_AMOUNT, TERMINAL_ID), berka (trans.asc: account_id;date;type;amount;balance;…) ` +
        `or export (Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location); one of auto, ${ACCOUNT_LAYOUTS.join(', ')}; env ${env('layout')}`,
    )
    .option(
      '--detector <name>',
      'iforest (Isolation Forest, 100 trees; reasons ranked by which features isolated the account; default) or lof ' +
        `(Local Outlier Factor; reasons ranked by robust z-score); env ${env('detector')}`,
    )
    .option(
      '--contamination <share>',
      'expected share of unusual accounts, in (0, 0.5]: the accounts above that quantile of the scores are flagged ' +
        `(default 0.01); env ${env('contamination')}`,
    )
    .option(
      '--seed <n>',
      `seed of the Isolation Forest, an integer ≥ 0 (same seed, same report; default 1); env ${env('seed')}`,
    )
    .option(
      '--neighbors <k>',
      `LOF neighbours k, an integer from 1 to ${MAX_NEIGHBORS} (and at most accounts − 1; default 20); env ${env('neighbors')}`,
    )
    .option('--reasons <n>', `reasons given per account, 1 to 20 (default 3); env ${env('reasons')}`)
    .action(async (flags: Record<string, string | undefined>) =>
      (await import('./accounts-run.js')).accountsReport(flags),
    );
}
