/**
 * What `finsecure-bank anonymise` does when it runs (anonymise.ts defines the command): reads
 * the key and the mapping, runs the anonymisation (or the re-identification) and maps errors
 * to exit codes (2: bad input or refusal, 1: crash). Imported by the command's action only, so
 * that `finsecure-bank --help` does not load the anonymisation code.
 */
import { readFileSync, statSync } from 'node:fs';
import { findOriginals, MinKError, parseAnonymiseMapping, type AnonymiseMapping } from '@finsecure/common/anonymise';
import { readJsonFile } from '@finsecure/common/config';
import { AnonymiseSettings, anonymiseFailureKind, runAnonymise } from '../anonymise/run.js';

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

export interface Opts {
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
  knownTransactions?: number;
  report?: string;
  reidentify?: string;
}

/** `finsecure-bank anonymise` with parsed options. */
export async function anonymise(o: Opts): Promise<void> {
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
    // The same core and the same limits as the console's Anonymise page (../anonymise/run.ts).
    const settings = AnonymiseSettings.safeParse({
      ...(mapping ? { mapping } : {}),
      amount: o.amount,
      epsilon: o.epsilon,
      clip: o.clip,
      ...(o.bands ? { bands: o.bands } : {}),
      time: o.time,
      ...(o.minK !== undefined ? { minK: o.minK } : {}),
      ...(o.knownTransactions !== undefined ? { knownTransactions: o.knownTransactions } : {}),
      unclassified: 'drop',
    });
    if (!settings.success)
      fail(settings.error.issues.map((i) => `--${String(i.path[0] ?? 'settings')}: ${i.message}`).join('; '));
    const report = await runAnonymise({
      input: o.data,
      output: o.out,
      key,
      settings: settings.data,
      ...(o.report ? { reportFile: o.report } : {}),
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
}
