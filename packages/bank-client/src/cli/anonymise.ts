/**
 * `finsecure-bank anonymise`: writes a safe copy of a transaction file for analysts, with
 * a report of what was done to each column, the ε spent and the k-anonymity of what is
 * left. The work is in @finsecure/common/anonymise; this file parses flags, reads the
 * key and the mapping, and maps errors to exit codes (2: bad input or refusal, 1: crash).
 */
import { readFileSync, statSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { findOriginals, MinKError, parseAnonymiseMapping, type AnonymiseMapping } from '@finsecure/common/anonymise';
import { createRng, cryptoRng } from '@finsecure/common/rng';
import { readJsonFile } from '@finsecure/common/config';
import { anonymiseFailureKind, runAnonymise } from '../anonymise/run.js';

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

function fail(message: string, code = 2): never {
  process.stderr.write(`finsecure-bank anonymise: ${message}\n`);
  process.exit(code);
}

/** Reads the key file: its bytes, without a trailing newline. Warns when others can read it. */
function readKey(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
    if ((statSync(file).mode & 0o077) !== 0)
      process.stderr.write(
        `finsecure-bank anonymise: warning: the key file ${file} is readable by other users of this machine (chmod 600 ${file})\n`,
      );
  } catch (err) {
    fail(`cannot read --key-file: ${(err as Error).message}`);
  }
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  return buf.subarray(0, end);
}

function readMapping(file: string | undefined): AnonymiseMapping | undefined {
  if (!file) return undefined;
  let json: unknown;
  try {
    json = readJsonFile(file, (m) => new Error(`--mapping: ${m}`), 'column mapping');
  } catch (err) {
    fail((err as Error).message);
  }
  try {
    return parseAnonymiseMapping(json, file);
  } catch (err) {
    fail((err as Error).message);
  }
}

interface Opts {
  data: string;
  out?: string;
  keyFile: string;
  mapping?: string;
  amount: 'laplace' | 'band';
  epsilon: number;
  clip: number;
  bands?: number[];
  time: 'hour' | 'day';
  minK?: number;
  report?: string;
  reidentify?: string;
  insecureSeed?: number;
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
    .option('--epsilon <ε>', 'ε per transaction of the Laplace noise on amounts', positive('--epsilon'), 1)
    .option(
      '--clip <C>',
      'clipping bound of amounts for --amount laplace (the sensitivity; noise scale C/ε)',
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
      '--report <file>',
      "write the report (JSON: each column's action, ε spent, k-anonymity) here on success; on a --min-k refusal it goes to stderr",
    )
    .option(
      '--reidentify <pseudonyms>',
      'comma-separated pseudonyms to look up in the ORIGINAL --data file with the same key (prints pseudonym,column,original)',
    )
    .option(
      '--insecure-seed <n>',
      'INSECURE: seed the Laplace noise for reproducible tests; never for data that leaves the bank',
      positive('--insecure-seed', true),
    )
    .action(async (o: Opts) => {
      const key = readKey(o.keyFile);
      const mapping = readMapping(o.mapping);
      try {
        if (o.reidentify !== undefined) {
          const wanted = o.reidentify
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
          const found = await findOriginals(o.data, key, wanted, mapping);
          process.stdout.write('pseudonym,column,original\n');
          for (const f of found) process.stdout.write(`${f.pseudonym},${f.column},${f.original}\n`);
          const missing = wanted.length - found.length;
          if (missing > 0) process.stderr.write(`${missing} pseudonym(s) not found in ${o.data} with this key\n`);
          return;
        }
        if (!o.out) fail('--out <file> is required');
        // The same core as the console's Anonymise page (../anonymise/run.ts).
        const report = await runAnonymise({
          input: o.data,
          output: o.out,
          key,
          settings: {
            ...(mapping ? { mapping } : {}),
            amount: o.amount,
            epsilon: o.epsilon,
            clip: o.clip,
            ...(o.bands ? { bands: o.bands } : {}),
            time: o.time,
            ...(o.minK !== undefined ? { minK: o.minK } : {}),
            unclassified: 'drop',
          },
          ...(o.report ? { reportFile: o.report } : {}),
          rng: o.insecureSeed !== undefined ? createRng(o.insecureSeed) : cryptoRng(),
        });
        process.stdout.write(`wrote ${report.rows} rows to ${o.out}\n`);
        for (const c of report.columns)
          process.stdout.write(`  ${c.column}: ${c.action}${c.quasiIdentifier ? ' (quasi-identifier)' : ''}\n`);
        if (report.unclassified.length)
          process.stdout.write(
            `  unclassified, dropped: ${report.unclassified.join(', ')} (give them a role with --mapping to release them)\n`,
          );
        process.stdout.write(
          `  k-anonymity ${report.kAnonymity} over ${report.quasiIdentifiers.join(', ') || 'no quasi-identifier'}; ε per transaction ${report.privacy.epsilonPerTransaction}\n`,
        );
      } catch (err) {
        if (err instanceof MinKError) {
          process.stderr.write(JSON.stringify(err.report, null, 2) + '\n');
          fail(err.message);
        }
        fail((err as Error).message, anonymiseFailureKind(err) === 'crash' ? 1 : 2);
      }
    });
}
