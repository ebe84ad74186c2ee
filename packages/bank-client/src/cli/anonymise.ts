/**
 * `finsecure-bank anonymise`: writes a safe copy of a transaction file for analysts, with
 * a report of what was done to each column, the ε spent and the k-anonymity of what is
 * left. The work is in @finsecure/common/anonymise; this file defines the command and parses
 * its flags. Reading the key and the mapping, the run and the exit codes are in
 * anonymise-run.ts, which the action imports: every invocation loads this file, `--help`
 * included, so it imports nothing heavy.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Opts } from './anonymise-run.js';

function positive(flag: string, int = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (int && !Number.isInteger(n)))
      throw new InvalidArgumentError(`${flag} must be a positive ${int ? 'integer' : 'number'}, got "${value}"`);
    return n;
  };
}

function choice(flag: string, options: readonly string[]) {
  return (value: string): string => {
    if (!options.includes(value))
      throw new InvalidArgumentError(`${flag} must be ${options.join(' or ')}, got "${value}"`);
    return value;
  };
}

function bandList(value: string): number[] {
  const edges = value.split(',').map((s) => Number(s.trim()));
  if (edges.length < 2 || edges.some((e) => !Number.isFinite(e)) || edges.some((e, i) => i > 0 && e <= edges[i - 1]!))
    throw new InvalidArgumentError(
      `--bands must be at least two increasing numbers separated by commas, got "${value}"`,
    );
  return edges;
}

/** Adds the `anonymise` command to the finsecure-bank program. */
export function addAnonymiseCommand(program: Command): void {
  program
    .command('anonymise')
    .description(
      'Write a safe copy of a transaction CSV for analysts: names, e-mails, phones and free text dropped; customer, account and ' +
        'transaction ids replaced by keyed pseudonyms (HMAC-SHA-256; only the key holder can re-identify); account, IBAN and card ' +
        'numbers masked to the last four characters; amounts noised (Laplace, ε per transaction) or banded; timestamps generalised. ' +
        'A column whose role is not recognised from its header is reported and dropped unless the mapping gives it a role. ' +
        'Reports the k-anonymity of the remaining quasi-identifiers (generalised timestamps, categorical and label columns, ' +
        'amount bands, the last four characters of masked numbers; Laplace-noised amounts are protected by ε instead) and refuses ' +
        'to write (exit 2, no file) below --min-k.\n\n' +
        'Re-identification (bank only): --reidentify <pseudonyms> --data <ORIGINAL file> --key-file <key> prints the original id of each pseudonym.',
    )
    .requiredOption('-d, --data <file>', 'input transactions CSV (plain or .gz), read as a stream')
    .option('-o, --out <file>', 'output CSV (written only if everything succeeds; required unless --reidentify)')
    .addOption(
      new Option(
        '-k, --key-file <file>',
        'pseudonymisation key: the file\'s bytes (trailing newline ignored), at least 32 bytes, e.g. "openssl rand -hex 32 > key"; keep it secret and the same across files',
      )
        .env('FINSECURE_ANONYMISE_KEY_FILE')
        .makeOptionMandatory(),
    )
    .option(
      '-m, --mapping <roles.json>',
      'explicit column roles, {"columns": {"<header>": "<role>"}}; roles: name, email, phone, free-text, account-number, customer-id, account-id, transaction-id, amount, timestamp, categorical, label, keep, drop',
    )
    .option(
      '--amount <mode>',
      'amounts: laplace (Laplace noise, ε per transaction, after clipping to [0, --clip]) or band (rounded to bands)',
      choice('--amount', ['laplace', 'band']),
      'laplace',
    )
    .option(
      '--epsilon <ε>',
      'ε per transaction of the Laplace noise on amounts (0.001 to 10: above, the noise hides nothing)',
      positive('--epsilon'),
      1,
    )
    .option(
      '--clip <C>',
      'clipping bound of amounts for --amount laplace (the sensitivity; noise scale C/ε; at most 1e9)',
      positive('--clip'),
      1000,
    )
    .option('--bands <edges>', 'band edges for --amount band (default 0,10,20,50,100,200,500,1000,2000,5000)', bandList)
    .option(
      '--time <granularity>',
      'generalise timestamps to the hour or the day',
      choice('--time', ['hour', 'day']),
      'hour',
    )
    .option(
      '--min-k <k>',
      'refuse to write unless every combination of quasi-identifier values occurs at least k times',
      positive('--min-k', true),
    )
    .option(
      '--known-transactions <m>',
      "count k as k^m-anonymity: any m of a person's transactions are shared by at least k people (Terrovitis et al., " +
        "VLDB 2008), against someone who knows m of them; applies when a kept pseudonym links a person's rows " +
        "(default: the k of each person's whole record)",
      positive('--known-transactions', true),
    )
    .option(
      '--report <file>',
      "write the report (JSON: each column's action, ε spent, k-anonymity) here on success; on a --min-k refusal it goes to stderr",
    )
    .option(
      '--reidentify <pseudonyms>',
      'comma-separated pseudonyms to look up in the ORIGINAL --data file with the same key (prints pseudonym,column,original)',
    )
    .action(async (o: Opts) => (await import('./anonymise-run.js')).anonymise(o));
}
