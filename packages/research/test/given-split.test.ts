/**
 * A researcher's own train/test split (`--train`/`--test`, as the bank daemon takes) and
 * the natural-skew partition through the research tools: the shared test set is exactly
 * the given file, the banks share exactly the given training rows, bad combinations are
 * refused with a message naming the flag, and a federation runs on such a split.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommanderError, type Command } from 'commander';
import { generateSynthetic, HANDBOOK_FEATURES, loadDataset, writeCsv } from '@finsecure/common/data';
import { prepareExperiment, ExperimentError } from '../src/experiment.js';
import { baselineCommand } from '../src/commands/baseline.js';
import { simulateCommand } from '../src/commands/simulate.js';
import { compareCommand } from '../src/commands/compare.js';
import { UsageError, type Output } from '../src/cli-support.js';
import type { BaselineResult } from '../src/training.js';
import type { SimulationResult } from '../src/simulate.js';

let dir: string;
let train: string;
let test: string;
let hbTrain: string;
let hbTest: string;

/** Handbook-layout rows with customers (CUSTOMER_ID) and days; customers 0..39 carry the frauds. */
function handbookCsv(file: string, from: number, rows: number): void {
  const header = ['TRANSACTION_ID', 'TX_DATETIME', 'CUSTOMER_ID', 'TERMINAL_ID', 'TX_TIME_SECONDS', 'TX_TIME_DAYS'];
  header.push('TX_FRAUD', 'TX_FRAUD_SCENARIO', ...HANDBOOK_FEATURES);
  const lines = [header.join(',')];
  for (let i = from; i < from + rows; i++) {
    const customer = (i * 37) % 300;
    const fraud = customer % 8 === 0 && i % 3 === 0 ? 1 : 0;
    const feats = HANDBOOK_FEATURES.map((_, j) => ((i * 7 + j * 13) % 100) / 10 + fraud * (j % 3));
    const day = Math.floor(i / 100);
    lines.push([i, '2018-04-01 00:00:00', customer, i % 9, i * 60, day, fraud, fraud, ...feats].join(','));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-research-given-'));
  train = path.join(dir, 'train.csv');
  test = path.join(dir, 'test.csv');
  await writeCsv(generateSynthetic({ rows: 1200, fraudRate: 0.06, seed: 1 }), train);
  await writeCsv(generateSynthetic({ rows: 400, fraudRate: 0.06, seed: 2 }), test);
  hbTrain = path.join(dir, 'hb-train.csv');
  hbTest = path.join(dir, 'hb-test.csv');
  handbookCsv(hbTrain, 0, 2400);
  handbookCsv(hbTest, 2400, 600);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, interactive: false, log: (l) => lines.push(l) };
}

async function run(make: (out: Output) => Command, args: string[]): Promise<string[]> {
  const out = capture();
  const cmd = make(out).exitOverride();
  cmd.configureOutput({ writeErr: () => {}, writeOut: (s) => out.lines.push(s) });
  await cmd.parseAsync(args, { from: 'user' });
  return out.lines;
}

async function failure(make: (out: Output) => Command, args: string[]): Promise<string> {
  const cmd = make(capture()).exitOverride();
  let err = '';
  cmd.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return err || e.message;
    if (e instanceof UsageError || e instanceof Error) return e.message;
  }
  throw new Error(`expected ${args.join(' ')} to fail`);
}

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

describe('a given train/test split', () => {
  it('tests on exactly the given file and partitions exactly the given training rows', async () => {
    const exp = await prepareExperiment({ train, test, split: 'given', seed: 3, banks: 3, scheme: 'iid' });
    const t = await loadDataset(test);
    const tr = await loadDataset(train);
    expect(Array.from(exp.test.labels)).toEqual(Array.from(t.labels));
    expect(Array.from(exp.test.features)).toEqual(Array.from(t.features));
    expect(exp.shards.reduce((n, s) => n + s.numRows, 0)).toBe(tr.numRows);
    expect(exp.shards.reduce((n, s) => n + sum(s.labels), 0)).toBe(sum(tr.labels));
    // The same multiset of training values (the partition only reorders rows).
    const pooled = exp.shards.flatMap((s) => Array.from(s.features)).sort((a, b) => a - b);
    expect(pooled).toEqual(Array.from(tr.features).sort((a, b) => a - b));
    expect(exp.spec.split).toBe('given');
    expect(exp.spec.source).toBe(path.resolve(train));
    expect(exp.spec.testSource).toBe(path.resolve(test));
    expect(exp.spec.testFraction).toBeCloseTo(400 / 1600, 12);
    expect(exp.summary.test.rows).toBe(400);
  });

  it('baseline --train/--test trains and scores on the given split', async () => {
    const out = path.join(dir, 'baseline');
    const lines = await run(baselineCommand, [
      ...['--train', train, '--test', test, '--banks', '2', '--epochs', '1', '--out', out, '--backend', 'wasm'],
    ]);
    const json = JSON.parse(readFileSync(path.join(out, 'baseline.json'), 'utf8')) as BaselineResult;
    expect(json.experiment.split).toBe('given');
    expect(json.experiment.test.rows).toBe(400);
    expect(json.metrics.examples).toBe(400);
    expect(lines.join('\n')).toMatch(/given split/);
    expect(readFileSync(path.join(out, 'baseline.md'), 'utf8')).toContain('given (train `train.csv`, test `test.csv`)');
  });

  it('refuses combinations that make the split ambiguous, naming the flags', async () => {
    for (const make of [baselineCommand, simulateCommand, compareCommand]) {
      expect(await failure(make, ['--train', train])).toMatch(/--train needs --test <csv>/);
      expect(await failure(make, ['--test', test])).toMatch(/--test needs --train <csv>/);
    }
    expect(await failure(baselineCommand, ['--train', train, '--test', test, '--data', train])).toMatch(
      /give one source of data, not --data and --train\/--test/,
    );
    expect(await failure(simulateCommand, ['--train', train, '--test', test, '--synthetic', '500'])).toMatch(
      /not --synthetic and --train\/--test/,
    );
    expect(await failure(baselineCommand, ['--train', train, '--test', test, '--split', 'time'])).toMatch(
      /--split time does not apply with --train\/--test: the test set is given/,
    );
    expect(await failure(compareCommand, ['--train', train, '--test', test, '--test-fraction', '0.3'])).toMatch(
      /--test-fraction does not apply with --train\/--test/,
    );
    expect(await failure(baselineCommand, ['--train', path.join(dir, 'nope.csv'), '--test', test])).toMatch(
      /--train .*nope\.csv: no such file/,
    );
    expect(await failure(baselineCommand, ['--train', train, '--test', path.join(dir, 'nope.csv')])).toMatch(
      /--test .*nope\.csv: no such file/,
    );
    // A Kaggle training file with a handbook test file: different layouts and features.
    expect(await failure(baselineCommand, ['--train', train, '--test', hbTest])).toMatch(
      /--test .*hb-test\.csv has other features than --train .*train\.csv: 15 vs 30 features/,
    );
    const noFraud = path.join(dir, 'no-fraud.csv');
    await writeCsv(generateSynthetic({ rows: 50, fraudRate: 0, seed: 4 }), noFraud);
    expect(await failure(baselineCommand, ['--train', train, '--test', noFraud])).toMatch(
      /--test .*no-fraud\.csv has no fraud rows/,
    );
    await expect(prepareExperiment({ train, seed: 1, banks: 2, scheme: 'iid', split: 'given' })).rejects.toThrow(
      ExperimentError,
    );
    await expect(prepareExperiment({ train, test, seed: 1, banks: 2, scheme: 'iid', split: 'time' })).rejects.toThrow(
      /--split time cannot be combined with --train\/--test/,
    );
  });

  it('--help documents --train and --test', () => {
    for (const make of [baselineCommand, simulateCommand, compareCommand]) {
      const help = make(capture()).helpInformation();
      expect(help).toMatch(/--train <csv>/);
      expect(help).toMatch(/--test <csv>/);
      expect(help).toMatch(/natural-skew/);
    }
  });
});

describe('natural-skew in the research tools', () => {
  it('keeps customers whole in banks of skewed sizes, and refuses data without customers', async () => {
    const exp = await prepareExperiment({
      ...{ train: hbTrain, test: hbTest, split: 'given' as const },
      ...{ seed: 5, banks: 4, scheme: 'natural-skew' as const, alpha: 0.3 },
    });
    expect(exp.spec.alpha).toBe(0.3);
    const owner = new Map<string, number>();
    exp.shards.forEach((s, b) => {
      for (const g of s.groups!) {
        expect(owner.get(g) ?? b).toBe(b);
        owner.set(g, b);
      }
    });
    const rows = exp.shards.map((s) => s.numRows);
    expect(Math.max(...rows) / Math.min(...rows)).toBeGreaterThan(3);
    for (const s of exp.summary.shards) expect(s.frauds).toBeGreaterThanOrEqual(1);
    expect(await failure(baselineCommand, ['--train', train, '--test', test, '--scheme', 'natural-skew'])).toMatch(
      /--scheme natural-skew needs customer ids/,
    );
  });

  it('simulate runs a real federation on a given split with natural-skew banks', async () => {
    const out = path.join(dir, 'sim');
    await run(simulateCommand, [
      ...['--train', hbTrain, '--test', hbTest, '--banks', '3', '--scheme', 'natural-skew', '--alpha', '0.5'],
      ...['--rounds', '1', '--epochs', '1', '--out', out, '--backend', 'wasm'],
    ]);
    const json = JSON.parse(readFileSync(path.join(out, 'simulation.json'), 'utf8')) as SimulationResult;
    expect(json.totals.committed).toBe(1);
    expect(json.scalerCheck.identical).toBe(true);
    expect(json.experiment.scheme).toBe('natural-skew');
    expect(json.final!.examples).toBe(600);
  });
});
