#!/usr/bin/env node
/**
 * finsecure-datasets: generate synthetic transactions and partition a dataset into
 * per-bank shards for federated experiments.
 *
 *   datasets generate  --rows 100000 --seed 1 --out data/synthetic.csv
 *   datasets partition --input data/synthetic.csv --banks 5 --scheme dirichlet --alpha 0.5 --out data/banks
 *
 * Exit codes: 0 success, 2 bad input (flags, unreadable or malformed data, impossible
 * partition), 1 unexpected failure.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { readJsonFile } from '../config/index.js';
import { addVersionOption } from './version.js';
import { DataError } from '../data/errors.js';
import type { ColumnMapping, LayoutName } from '../data/layouts.js';
import { loadCsv, type LoadResult } from '../data/loader.js';
import { parseColumnMapping } from '../data/mapping-schema.js';
import { writeSyntheticCsv } from '../data/synthetic.js';
import { PartitionError } from '../partition/constraints.js';
import { writePartitionFiles, type PartitionManifest, type ShardInfo } from '../partition/files.js';
import { PARTITION_SCHEMES, schemeNeedsAlpha, schemeNeedsGroups, type PartitionScheme } from '../partition/schemes.js';

/** A problem with what the user asked for; reported without a stack, exit code 2. */
class UsageError extends Error {}

// ---------------------------------------------------------------- flag validation

function intFlag(flag: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(raw);
  if (!/^\s*[+-]?\d+\s*$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(`${flag} must be an integer ${range}, got "${raw}"`);
  }
  return v;
}

function numberFlag(flag: string, raw: string, ok: (v: number) => boolean, what: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new UsageError(`${flag} must be ${what}, got "${raw}"`);
  return v;
}

function choiceFlag<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

// ---------------------------------------------------------------- output helpers

const interactive = process.stdout.isTTY === true;

/**
 * A progress bar on a TTY; a no-op otherwise (logs and CI stay clean). `detail` is the
 * text after the percentage; it may use {value}, {total} and payload keys like {rows}.
 */
function bar(
  label: string,
  total: number,
  detail: string,
): { update(v: number, payload?: object): void; stop(): void } {
  if (!interactive) return { update: () => {}, stop: () => {} };
  const b = new SingleBar(
    { format: `${label.padEnd(8)} [{bar}] {percentage}% | ${detail} | ETA {eta_formatted}`, hideCursor: true },
    Presets.shades_classic,
  );
  b.start(total, 0, { rows: '0' });
  return { update: (v, payload) => b.update(v, payload), stop: () => b.stop() };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (frauds: number, rows: number) => (rows ? ((100 * frauds) / rows).toFixed(3) : '0.000') + '%';

function describe(path: string, s: Pick<ShardInfo, 'rows' | 'frauds' | 'groups'>): string {
  const groups = s.groups === undefined ? '' : `, ${fmt(s.groups)} customers`;
  return `wrote ${path}  ${fmt(s.rows)} rows, ${fmt(s.frauds)} frauds (${pct(s.frauds, s.rows)})${groups}`;
}

// ---------------------------------------------------------------- commands

/**
 * Refuses an --out that cannot be written before any work, naming the flag: a directory where a
 * file goes, a file where a directory goes, or a file in place of one of its parent directories
 * (mkdir said only "EEXIST: file already exists").
 */
function checkOut(out: string, kind: 'file' | 'directory'): void {
  const isDir = (p: string): boolean | null => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return null; // missing: made when written
    }
  };
  const own = isDir(out);
  if (own !== null && own !== (kind === 'directory'))
    throw new UsageError(`--out ${out} is a ${own ? 'directory' : 'file'}; expected a ${kind}`);
  for (let p = dirname(resolve(out)); ; p = dirname(p)) {
    const d = isDir(p);
    if (d === false) throw new UsageError(`--out ${out}: ${p} is a file, not a directory`);
    if (d === true || dirname(p) === p) return;
  }
}

async function generate(opts: Record<string, string>): Promise<void> {
  const rows = intFlag('--rows', opts.rows, 1);
  const seed = intFlag('--seed', opts.seed, 0, 0xffffffff);
  const fraudRate = numberFlag('--fraud-rate', opts.fraudRate, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  const out = opts.out;
  checkOut(out, 'file');
  const progress = bar('generate', rows, '{value}/{total} rows');
  const t0 = performance.now();
  let r: { rows: number; frauds: number };
  try {
    r = await writeSyntheticCsv({ rows, seed, fraudRate }, out, (n) => progress.update(n));
  } finally {
    progress.stop();
  }
  console.log(describe(out, r));
  console.log(`seed ${seed}, fraud rate ${fraudRate}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function readMapping(path: string): Promise<ColumnMapping> {
  const json = readJsonFile(path, (m) => new UsageError(`--mapping: ${m}`), 'column mapping');
  try {
    return parseColumnMapping(json, `--mapping ${path}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function partition(opts: Record<string, string>, cmd: Command): Promise<void> {
  const banks = intFlag('--banks', opts.banks, 1);
  const scheme = choiceFlag('--scheme', opts.scheme, PARTITION_SCHEMES) as PartitionScheme;
  const alpha = numberFlag('--alpha', opts.alpha, (v) => v > 0, 'a number > 0');
  const quantitySizes = choiceFlag('--quantity-dist', opts.quantityDist, ['dirichlet', 'powerlaw'] as const);
  const seed = intFlag('--seed', opts.seed, 0, 0xffffffff);
  const testFraction = numberFlag('--test-fraction', opts.testFraction, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  const split = choiceFlag('--split', opts.split, ['stratified', 'time'] as const);
  const minFraudPerBank = intFlag('--min-fraud-per-bank', opts.minFraudPerBank, 0);
  const layoutName = choiceFlag('--layout', opts.layout, ['auto', 'kaggle', 'handbook', 'finsecure'] as const);
  const layout: 'auto' | LayoutName | ColumnMapping = opts.mapping ? await readMapping(opts.mapping) : layoutName;
  checkOut(opts.out, 'directory'); // before the input is read
  const skewed = schemeNeedsAlpha(scheme);
  const sized = scheme === 'quantity' || scheme === 'natural-skew';
  if (!skewed && cmd.getOptionValueSource('alpha') === 'cli')
    console.error(`note: --alpha is ignored by --scheme ${scheme}`);
  if (!sized && cmd.getOptionValueSource('quantityDist') === 'cli') {
    console.error(`note: --quantity-dist is ignored by --scheme ${scheme}`);
  }

  const t0 = performance.now();
  const input = opts.input;
  const loading = interactive ? bar('load', 100, '{rows} rows read') : null;
  let loaded: LoadResult;
  try {
    loaded = await loadCsv(input, {
      layout,
      onNotice: (m) => console.error(`note: ${m}`),
      onProgress: (rows, bytes, total) =>
        loading?.update(total ? Math.floor((100 * bytes) / total) : 0, { rows: fmt(rows) }),
    });
  } finally {
    loading?.stop(); // restores the cursor even when the load fails
  }
  const ds = loaded.dataset;
  console.log(
    `read ${input}  ${fmt(ds.numRows)} rows, ${fmt(loaded.frauds)} frauds (${pct(loaded.frauds, ds.numRows)}), ` +
      `${ds.numFeatures} features, layout ${loaded.layout}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (split === 'time' && !ds.times) {
    throw new UsageError(`--split time needs a time column, and ${input} (layout ${loaded.layout}) has none`);
  }
  if (schemeNeedsGroups(scheme) && !ds.groups) {
    throw new UsageError(`--scheme ${scheme} needs a group column (e.g. handbook CUSTOMER_ID); ${input} has none`);
  }

  const out = opts.out;
  const writing = bar('write', ds.numRows, '{value}/{total} rows');
  let manifest: PartitionManifest;
  try {
    manifest = await writePartitionFiles(
      ds,
      { path: input, layout: loaded.layout },
      {
        scheme,
        banks,
        seed,
        minFraudPerBank,
        testFraction,
        split,
        ...(skewed ? { alpha } : {}),
        ...(sized ? { quantitySizes } : {}),
      },
      out,
      { onWriteProgress: (n) => writing.update(n) },
    );
  } finally {
    writing.stop();
  }
  for (const s of manifest.shards) console.log(describe(join(out, s.file), s));
  console.log(describe(join(out, manifest.test.file), manifest.test));
  console.log(`wrote ${join(out, 'manifest.json')}  scheme ${scheme}, seed ${seed}, ${split} split`);
}

// ---------------------------------------------------------------- program

function buildProgram(): Command {
  const program = new Command('finsecure-datasets')
    .description('Generate synthetic card transactions and partition datasets into per-bank shards.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // `--version` (also after a subcommand) is acted on while parsing, before any command runs.
  addVersionOption(program, new URL('../../package.json', import.meta.url));

  program
    .command('generate')
    .description(
      'Write synthetic transactions in the Kaggle creditcard.csv layout (Time,V1..V28,Amount,Class), streamed ' +
        'so any row count fits in memory. The same --seed always gives the same file.',
    )
    .requiredOption('--rows <n>', 'number of rows to generate (integer ≥ 1)')
    .option('--seed <n>', 'random seed (integer in [0, 4294967295])', '1')
    .requiredOption('--out <file>', 'output CSV path; gzip-compressed when it ends in .gz')
    .option('--fraud-rate <r>', 'fraction of fraud rows in [0, 1] (Kaggle: 0.0017)', '0.0017')
    .action(generate);

  program
    .command('partition')
    .description(
      'Split a dataset into a shared held-out test set and N per-bank training shards. Writes bank-1.csv ... ' +
        'bank-N.csv, test.csv and manifest.json into --out.',
    )
    .requiredOption('--input <file>', 'CSV to partition (plain or .gz): Kaggle, handbook, or a previous output')
    .requiredOption('--banks <n>', 'number of banks (integer ≥ 1)')
    .addOption(
      new Option(
        '--scheme <name>',
        'how training rows are divided: iid (uniform random), dirichlet (label skew: per-class shares ~ ' +
          'Dir(alpha)), quantity (bank sizes ~ Dir(alpha), labels iid), natural (whole customers per bank, ' +
          'banks of equal size; needs a group column), natural-skew (whole customers per bank, bank sizes ~ ' +
          'Dir(alpha) or a power law, see --quantity-dist; needs a group column)',
      ).makeOptionMandatory(),
    )
    .option(
      '--alpha <a>',
      'skew for dirichlet/quantity/natural-skew (> 0): small (0.1) = very skewed, large (100) ≈ iid ' +
        '(for --quantity-dist powerlaw: the exponent, larger = more skewed)',
      '0.5',
    )
    .option(
      '--quantity-dist <d>',
      'bank-size distribution for --scheme quantity and natural-skew: dirichlet (Dir(alpha)) or powerlaw (share ∝ rank^-alpha)',
      'dirichlet',
    )
    .option('--seed <n>', 'random seed for the split and the partition (integer in [0, 4294967295])', '42')
    .requiredOption('--out <dir>', 'output directory (created if missing; existing files are overwritten)')
    .option('--test-fraction <f>', 'fraction of rows held out as test.csv before partitioning, in [0, 1)', '0.2')
    .option(
      '--split <kind>',
      'test split: stratified (seeded, keeps the fraud ratio) or time (latest rows)',
      'stratified',
    )
    .option('--min-fraud-per-bank <n>', 'fraud rows guaranteed in every bank, moved from the richest (0 = none)', '1')
    .option('--layout <name>', 'input layout: auto (detect from header), kaggle, handbook or finsecure', 'auto')
    .option(
      '--mapping <file>',
      'JSON column mapping {label, features, categorical?, ignore?, group?, time?}; overrides --layout',
    )
    .action(partition);

  program.addHelpText(
    'after',
    `
Examples:
  $ npm run datasets -- generate --rows 100000 --seed 1 --out data/synthetic.csv
  $ npm run datasets -- partition --input data/synthetic.csv --banks 5 --scheme dirichlet --alpha 0.5 --out data/banks
  $ npm run datasets -- partition --input handbook-2018-04.csv.gz --banks 4 --scheme natural --split time --out data/hb

Exit codes: 0 ok, 2 bad input (flags or data), 1 unexpected error. See datasets/README.md.`,
  );
  return program;
}

function isInputError(e: unknown): boolean {
  if (e instanceof UsageError || e instanceof DataError || e instanceof PartitionError) return true;
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'ENOTDIR';
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    // Commander has already printed its own message (unknown option, missing flag, help).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isInputError(e)) {
      console.error(`error: ${(e as Error).message}`);
      return 2;
    }
    console.error(e);
    return 1;
  }
}

process.exitCode = await main(process.argv);
