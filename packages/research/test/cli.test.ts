/**
 * The research commands as a user runs them (the same Command objects the binaries
 * run): the baseline on a tiny synthetic CSV writes JSON and Markdown with every metric,
 * a 3-bank 2-round simulation over real sockets writes its per-round record, and bad
 * flags fail with messages that name the flag.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommanderError, type Command } from 'commander';
import { generateSynthetic, writeCsv } from '@finsecure/common/data';
import { baselineCommand } from '../src/commands/baseline.js';
import { simulateCommand } from '../src/commands/simulate.js';
import { compareCommand } from '../src/commands/compare.js';
import { smoteCapOf, UsageError, type Output } from '../src/cli-support.js';
import { epsilonCell, strategyLabel } from '../src/report.js';
import { RESEARCH_STRATEGY, RESEARCH_TRAINING, type BaselineResult } from '../src/training.js';
import type { SimulationResult } from '../src/simulate.js';
import { prepareExperiment } from '../src/experiment.js';
import { evaluateTrainer } from '../src/evaluate.js';
import { ensureBackend, modelSpec } from '../src/training.js';
import { initWeights, MlpTrainer } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';

let dir: string;
let csv: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-research-cli-'));
  csv = path.join(dir, 'tiny.csv');
  await writeCsv(generateSynthetic({ rows: 1500, fraudRate: 0.06, seed: 5 }), csv);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, interactive: false, log: (l) => lines.push(l) };
}

/** Runs a command in-process with commander's exits and output captured. */
async function run(make: (out: Output) => Command, args: string[]): Promise<{ out: string[]; err: string }> {
  const out = capture();
  const cmd = make(out);
  let err = '';
  cmd.exitOverride().configureOutput({ writeErr: (s) => (err += s), writeOut: (s) => out.lines.push(s) });
  await cmd.parseAsync(args, { from: 'user' });
  return { out: out.lines, err };
}

async function failure(make: (out: Output) => Command, args: string[]): Promise<string> {
  const out = capture();
  const cmd = make(out);
  let err = '';
  cmd.exitOverride().configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return err || e.message;
    if (e instanceof UsageError || e instanceof Error) return e.message;
  }
  throw new Error(`expected ${args.join(' ')} to fail`);
}

const METRICS = ['precision', 'recall', 'f1', 'auprc', 'rocAuc', 'recallAt1PctFpr', 'loss', 'tp', 'fp', 'tn', 'fn'];

describe('baseline CLI', () => {
  it('trains on a tiny synthetic file and writes JSON and Markdown with every metric', async () => {
    const out = path.join(dir, 'baseline');
    const { out: lines } = await run(baselineCommand, [
      '--data',
      csv,
      '--banks',
      '3',
      '--epochs',
      '3',
      '--smote',
      '--out',
      out,
      '--backend',
      'wasm',
    ]);
    const json = JSON.parse(readFileSync(path.join(out, 'baseline.json'), 'utf8')) as BaselineResult;
    expect(json.kind).toBe('baseline');
    for (const k of METRICS) expect(json.metrics[k as keyof typeof json.metrics], k).toBeTypeOf('number');
    expect(json.metrics.bestF1.f1).toBeGreaterThanOrEqual(json.metrics.f1);
    expect(json.metrics.bestF1.threshold).toBeGreaterThan(0);
    expect(json.metrics.auprc).toBeGreaterThan(0.3);
    expect(json.metrics.examples).toBe(300);
    expect(json.trainMs).toBeGreaterThan(0);
    expect(json.lossPerEpoch).toHaveLength(3);
    expect(json.syntheticRows).toBeGreaterThan(0);
    expect(json.experiment.banks).toBe(3);
    expect(json.experiment.test.rows).toBe(300);
    const md = readFileSync(path.join(out, 'baseline.md'), 'utf8');
    for (const label of [
      'precision @ 0.5',
      'recall @ 0.5',
      'F1 @ 0.5',
      'F1 @ best-F1',
      'best-F1 threshold',
      'AUPRC',
      'ROC AUC',
      'recall @ 1 % FPR',
      'Training time',
    ]) {
      expect(md).toContain(label);
    }
    expect(lines.some((l) => l.startsWith('Centralized: AUPRC'))).toBe(true);
  });
});

describe('baseline CLI: a CSV in another layout', () => {
  it('--mapping reads it (the advice of the layout error works here too); refused with --layout or --synthetic', async () => {
    const [header, ...rows] = readFileSync(csv, 'utf8').split('\n');
    const columns = header!.split(',').map((c) => (c === 'Class' ? 'is_fraud' : c.toLowerCase()));
    const other = path.join(dir, 'other-layout.csv');
    writeFileSync(other, [columns.join(','), ...rows].join('\n'));
    expect(await failure(baselineCommand, ['--data', other, '--epochs', '1'])).toMatch(/--mapping mapping\.json/);
    const mapping = path.join(dir, 'mapping.json');
    writeFileSync(mapping, JSON.stringify({ label: 'is_fraud', features: columns.filter((c) => c !== 'is_fraud') }));
    const out = path.join(dir, 'baseline-mapped');
    const args = ['--data', other, '--mapping', mapping, '--banks', '2', '--epochs', '1', '--backend', 'wasm'];
    await run(baselineCommand, [...args, '--out', out]);
    const json = JSON.parse(readFileSync(path.join(out, 'baseline.json'), 'utf8')) as BaselineResult;
    expect(json.experiment.test.rows).toBe(300);
    expect(json.experiment.numFeatures).toBe(columns.length - 1);
    expect(await failure(baselineCommand, [...args, '--layout', 'kaggle'])).toMatch(
      /--mapping and --layout kaggle both say how to read the file/,
    );
    expect(await failure(baselineCommand, ['--synthetic', '500', '--mapping', mapping])).toMatch(
      /--mapping applies to a CSV/,
    );
    const broken = path.join(dir, 'broken-mapping.json');
    writeFileSync(broken, '{\n  "label": "is_fraud",\n}');
    expect(await failure(baselineCommand, ['--data', other, '--mapping', broken])).toMatch(
      /--mapping: column mapping .*broken-mapping\.json:3:1 is not valid JSON/,
    );
  });
});

describe('baseline CLI: SMOTE cap', () => {
  it('--smote-max-multiplier caps synthetic rows per real fraud of the pooled data; "none" lifts the cap', async () => {
    const base = [
      '--data',
      csv,
      '--banks',
      '3',
      '--epochs',
      '1',
      '--smote',
      '--smote-ratio',
      '0.5',
      '--backend',
      'wasm',
    ];
    const read = (d: string) => JSON.parse(readFileSync(path.join(d, 'baseline.json'), 'utf8')) as BaselineResult;
    await run(baselineCommand, [...base, '--smote-max-multiplier', '2', '--out', path.join(dir, 'cap2')]);
    await run(baselineCommand, [...base, '--smote-max-multiplier', 'none', '--out', path.join(dir, 'capnone')]);
    const capped = read(path.join(dir, 'cap2'));
    const free = read(path.join(dir, 'capnone'));
    const frauds = capped.experiment.train.frauds;
    expect(capped.training.smoteMaxMultiplier).toBe(2);
    expect(capped.syntheticRows).toBe(2 * frauds); // the ratio 0.5 would need far more
    expect(free.training.smoteMaxMultiplier).toBeNull();
    expect(free.syntheticRows).toBe(Math.ceil(0.5 * (free.experiment.train.rows - frauds)) - frauds);
    expect(readFileSync(path.join(dir, 'cap2', 'baseline.md'), 'utf8')).toContain('≤ 2 synthetic per fraud');
  });
});

describe('simulate CLI', () => {
  it('runs 3 real bank clients for 2 rounds against a real aggregator and writes per-round JSON', async () => {
    const out = path.join(dir, 'sim');
    const { out: lines } = await run(simulateCommand, [
      '--data',
      csv,
      '--banks',
      '3',
      '--rounds',
      '2',
      '--epochs',
      '1',
      '--out',
      out,
      '--backend',
      'wasm',
    ]);
    const json = JSON.parse(readFileSync(path.join(out, 'simulation.json'), 'utf8')) as SimulationResult;
    expect(json.kind).toBe('simulation');
    expect(json.totals.committed).toBe(2);
    expect(json.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(json.scalerCheck.identical).toBe(true);
    for (const r of json.rounds) {
      expect(r.status).toBe('committed');
      expect(r.participants).toBe(3);
      for (const k of ['precision', 'recall', 'f1', 'auprc', 'loss'])
        expect(r.metrics![k as 'f1'], k).toBeTypeOf('number');
      expect(r.reported!.auprc).toBeTypeOf('number');
      expect(r.bytes).toBeGreaterThan(3 * 16_000);
      expect(r.durations.totalMs).toBeGreaterThan(0);
      expect(r.epsilon).toBeNull();
    }
    expect(json.final!.auprc).toBe(json.rounds[1]!.metrics!.auprc);
    // The research defaults: step-normalised FedAvg with a server learning rate, capped SMOTE.
    expect(json.training).toMatchObject({
      maxShare: RESEARCH_STRATEGY.maxShare,
      normalizeSteps: RESEARCH_STRATEGY.normalizeSteps,
      lossExponent: RESEARCH_STRATEGY.lossExponent,
      serverLearningRate: RESEARCH_STRATEGY.serverLearningRate,
      serverMomentum: 0,
      smoteMaxMultiplier: RESEARCH_TRAINING.smoteMaxMultiplier,
    });
    expect(readFileSync(path.join(out, 'simulation.md'), 'utf8')).toContain('| round | status |');
    expect(lines.filter((l) => /^ {2}round {3}\d/.test(l))).toHaveLength(2);
  });
});

describe('simulate CLI: the FedAvg options reach the aggregator', () => {
  it('--server-learning-rate scales the committed step: a tiny one leaves the initial model in place', async () => {
    const args = ['--data', csv, '--banks', '3', '--rounds', '1', '--epochs', '1', '--backend', 'wasm'];
    await run(simulateCommand, [...args, '--server-learning-rate', '1e-6', '--out', path.join(dir, 'sim-tiny')]);
    await run(simulateCommand, [...args, '--out', path.join(dir, 'sim-default')]);
    const tiny = JSON.parse(readFileSync(path.join(dir, 'sim-tiny', 'simulation.json'), 'utf8')) as SimulationResult;
    const dflt = JSON.parse(readFileSync(path.join(dir, 'sim-default', 'simulation.json'), 'utf8')) as SimulationResult;
    expect(tiny.training.serverLearningRate).toBe(1e-6);
    // The initial model (the aggregator's initWeights) scored like every round's model.
    const exp = await prepareExperiment({
      data: csv,
      seed: 42,
      banks: 3,
      scheme: 'dirichlet',
      alpha: 0.5,
      split: 'stratified',
    });
    await ensureBackend('wasm');
    const spec = modelSpec(exp.numFeatures);
    const trainer = new MlpTrainer(spec, initWeights(spec, createRng(42)));
    const initial = evaluateTrainer(trainer, exp.scaledTest());
    trainer.dispose();
    expect(tiny.final!.loss).toBeCloseTo(initial.loss, 4);
    expect(Math.abs(dflt.final!.loss - initial.loss)).toBeGreaterThan(0.01);
  });
});

describe('compare CLI', () => {
  it('writes report.md with SVG charts, and --reuse skips work whose JSON matches', async () => {
    const out = path.join(dir, 'compare');
    const args = [
      '--data',
      csv,
      '--banks',
      '3',
      '--rounds',
      '2',
      '--epochs',
      '1',
      '--dp-clip',
      '5',
      '--dp-noise-multiplier',
      '0.5',
      '--out',
      out,
      '--backend',
      'wasm',
    ];
    await run(compareCommand, args);
    const files = readdirSync(out).sort();
    expect(files).toEqual(
      [
        'auprc-per-round.svg',
        'baseline.json',
        'baseline.md',
        'bytes-per-round.svg',
        'epsilon-per-round.svg',
        'f1-per-round.svg',
        'local-only.json',
        'local-only.md',
        'report.md',
        'simulation.json',
        'simulation.md',
        'summary.json',
      ].sort(),
    );
    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toMatch(/Federated \/ centralized AUPRC: [\d.]+ %/);
    expect(report).toContain('![AUPRC per round](auprc-per-round.svg)');
    expect(report).toContain('![Epsilon per round](epsilon-per-round.svg)');
    // Every report and chart names the whole federated setting, not just "FedAvg".
    const label = strategyLabel({
      ...RESEARCH_STRATEGY,
      ...RESEARCH_TRAINING,
      smoteMaxMultiplier: smoteCapOf(RESEARCH_TRAINING),
    });
    expect(label).toMatch(/^FedAvg \(.*local lr [\d.]+, SMOTE /);
    expect(report).toContain(label);
    expect(readFileSync(path.join(out, 'auprc-per-round.svg'), 'utf8')).toContain(label);
    const sim = JSON.parse(readFileSync(path.join(out, 'simulation.json'), 'utf8')) as SimulationResult;
    expect(sim.rounds.every((r) => typeof r.epsilon === 'number' && r.epsilon > 0)).toBe(true);
    expect(sim.rounds[1]!.epsilon!).toBeGreaterThan(sim.rounds[0]!.epsilon!);
    // ε is the accountant's total so far, and says so; without noise it is infinite, not "n/a".
    expect(readFileSync(path.join(out, 'simulation.md'), 'utf8')).toContain('cumulative ε (largest bank)');
    expect(epsilonCell({ noiseMultiplier: 0 }, null)).toBe('∞ (no noise)');
    expect(epsilonCell({ noiseMultiplier: 0.5 }, 4.24131)).toBe('4.241');
    const again = await run(compareCommand, [...args, '--reuse']);
    expect(again.out.filter((l) => l.startsWith('Reusing'))).toHaveLength(3);
    expect(existsSync(path.join(out, 'report.md'))).toBe(true);
    // Another wait for late banks is another federation: its run is made again, the others reused.
    const graced = await run(compareCommand, [...args, '--grace', '60000', '--reuse']);
    expect(graced.out.filter((l) => l.startsWith('Reusing')).map((l) => path.basename(l))).toEqual([
      'baseline.json',
      'local-only.json',
    ]);
    const rerun = JSON.parse(readFileSync(path.join(out, 'simulation.json'), 'utf8')) as SimulationResult;
    expect(rerun.training).toMatchObject({ graceMs: 60_000, roundTimeoutMs: sim.training.roundTimeoutMs });
  });
});

describe('bad flags', () => {
  it('name the flag and the expected value', async () => {
    expect(await failure(baselineCommand, ['--data', csv, '--epochs', 'ten'])).toMatch(
      /--epochs must be an integer in 1\.\.10000, got "ten"/,
    );
    expect(await failure(baselineCommand, ['--data', csv, '--alpha', '-1'])).toMatch(
      /--alpha must be a number > 0, got "-1"/,
    );
    expect(await failure(baselineCommand, ['--data', csv, '--split', 'random'])).toMatch(
      /--split <kind>' argument 'random' is invalid\. Allowed choices are stratified, time/,
    );
    expect(await failure(baselineCommand, ['--data', csv, '--bogus'])).toMatch(/unknown option '--bogus'/);
    expect(await failure(baselineCommand, ['--epochs', '2'])).toMatch(/--data <csv> is required/);
    expect(await failure(baselineCommand, ['--data', csv, '--synthetic', '500'])).toMatch(
      /give one source of data, not --data and --synthetic/,
    );
    expect(await failure(baselineCommand, ['--data', path.join(dir, 'nope.csv')])).toMatch(
      /--data .*nope\.csv: no such file$/,
    );
    // A relative path: where it was looked for (npm run works from the repository's directory).
    expect(await failure(baselineCommand, ['--data', 'nope-relative.csv'])).toContain(
      `--data nope-relative.csv: no such file (looked for ${path.resolve('nope-relative.csv')})`,
    );
    expect(await failure(baselineCommand, ['--data', csv, '--scheme', 'natural'])).toMatch(
      /--scheme natural needs customer ids/,
    );
    expect(await failure(simulateCommand, ['--data', csv, '--dp-clip', '1'])).toMatch(
      /--dp-clip and --dp-noise-multiplier must be given together/,
    );
    expect(await failure(simulateCommand, ['--data', csv, '--banks', '3', '--quorum', '4'])).toMatch(
      /--quorum 4 cannot exceed --banks 3/,
    );
    expect(await failure(compareCommand, ['--data', csv, '--learning-rate', '0'])).toMatch(
      /--learning-rate must be a number in \(0, 10\], got "0"/,
    );
    expect(await failure(simulateCommand, ['--data', csv, '--server-learning-rate', '0'])).toMatch(
      /--server-learning-rate must be a number in \(0, 10\], got "0"/,
    );
    expect(await failure(simulateCommand, ['--data', csv, '--loss-exponent', '-1'])).toMatch(
      /--loss-exponent must be a number in \[0, 4\], got "-1"/,
    );
    expect(await failure(simulateCommand, ['--data', csv, '--server-momentum', '1'])).toMatch(
      /--server-momentum must be a number in \[0, 1\), got "1"/,
    );
    expect(await failure(baselineCommand, ['--data', csv, '--smote-max-multiplier', '-1'])).toMatch(
      /--smote-max-multiplier must be a number ≥ 0 or "none", got "-1"/,
    );
    expect(await failure(compareCommand, ['--data', csv, '--max-share', '0.15'])).toMatch(
      /--max-share 0\.15 cannot be combined with step normalisation/,
    );
  });

  it('--help documents every flag', async () => {
    for (const make of [baselineCommand, simulateCommand, compareCommand]) {
      const cmd = make(capture());
      const help = cmd.helpInformation();
      for (const opt of cmd.options) expect(help).toContain(opt.flags);
      expect(help).toMatch(/--data <csv>/);
    }
  });
});
