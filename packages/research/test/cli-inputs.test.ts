/**
 * What the research tools refuse, and what they leave behind (a review's findings, each a case that
 * failed before): results reused only for the same rows, a test split that cannot be scored refused,
 * --out and --keep checked before any work, --seeds and --backdoor-features parsed strictly, a
 * missing backend named as such, and the temporary directory (a copy of the data and the banks' keys)
 * removed on Ctrl-C. The spawned cases run the built entry points (`npx tsc -b` first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic, writeCsv } from '@finsecure/common/data';
import { ExperimentError, prepareExperiment, type ExperimentOptions } from '../src/experiment.js';
import { UsageError } from '../src/cli-main.js';
import { parseSeeds } from '../src/commands/feedback.js';
import { triggerColumns } from '../src/commands/attack.js';
import { checkKeepDir, checkOutDir } from '../src/output-dirs.js';
import { hasTfjsNode } from '../../common/test/helpers/optional-packages.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let csv: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-research-inputs-'));
  csv = path.join(dir, 'tiny.csv');
  await writeCsv(generateSynthetic({ rows: 1500, fraudRate: 0.06, seed: 5 }), csv);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = (data: string, more: Partial<ExperimentOptions> = {}): ExperimentOptions => ({
  data,
  seed: 1,
  banks: 2,
  scheme: 'iid',
  split: 'stratified',
  layout: 'auto',
  ...more,
});

describe('the experiment', () => {
  it('fingerprints the rows themselves: another file with the same path, rows and frauds is another experiment', async () => {
    const file = path.join(dir, 'swapped.csv');
    await writeCsv(generateSynthetic({ rows: 1500, fraudRate: 0.06, seed: 5 }), file);
    const a = await prepareExperiment(options(file));
    // Same path, same counts, same header; other values (compare --reuse took the old results).
    await writeCsv(generateSynthetic({ rows: 1500, fraudRate: 0.06, seed: 6 }), file);
    const b = await prepareExperiment(options(file));
    expect(b.totalRows).toBe(a.totalRows);
    expect(b.totalFrauds).toBe(a.totalFrauds);
    expect(b.fingerprint).not.toBe(a.fingerprint);
    // And the same rows again give the same fingerprint.
    expect((await prepareExperiment(options(file))).fingerprint).toBe(b.fingerprint);
  });

  it('refuses a test split without rows, without frauds or without legitimate rows, rather than report 0', async () => {
    await expect(prepareExperiment(options(csv, { testFraction: 0.0001 }))).rejects.toThrow(
      new ExperimentError(
        'the test split (--test-fraction 0.0001) has no rows: raise --test-fraction or use more data',
      ),
    );
    const oneFraud = path.join(dir, 'one-fraud.csv');
    const ds = generateSynthetic({ rows: 300, fraudRate: 0.06, seed: 2 });
    let kept = 0;
    for (let i = 0; i < ds.numRows; i++) if (ds.labels[i] === 1 && kept++ > 0) ds.labels[i] = 0;
    await writeCsv(ds, oneFraud);
    // The only fraud goes to training (each bank needs one): none is left to score.
    await expect(prepareExperiment(options(oneFraud, { banks: 1 }))).rejects.toThrow(/has no fraud rows \(\d+ rows\)/);
    const allFraud = path.join(dir, 'all-fraud.csv');
    ds.labels.fill(1);
    await writeCsv(ds, allFraud);
    await expect(prepareExperiment(options(allFraud))).rejects.toThrow(/has no legitimate rows .* ROC AUC/);
  });
});

describe('where the tools write', () => {
  it('--out: made when missing; a file in the way or below a file is refused before any work', async () => {
    const fresh = path.join(dir, 'new', 'deeper');
    await checkOutDir(fresh);
    expect(readdirSync(fresh)).toEqual([]);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const bad of [file, path.join(file, 'below')])
      await expect(checkOutDir(bad)).rejects.toThrow(
        new UsageError(
          `--out ${bad}: cannot write results there: a file is in the way (it, or one of its parents, is not a directory)`,
        ),
      );
  });

  it('--keep: a new or empty directory only', async () => {
    await checkKeepDir(path.join(dir, 'keep-new'));
    const used = path.join(dir, 'keep-used');
    mkdirSync(path.join(used, 'aggregator'), { recursive: true });
    await expect(checkKeepDir(used)).rejects.toThrow(/--keep .*keep-used is not empty \(it holds aggregator\)/);
  });

  it('simulate refuses a used --keep directory before it loads the data or starts a bank', () => {
    const used = path.join(dir, 'keep-used-cli');
    mkdirSync(path.join(used, 'shards'), { recursive: true });
    const r = spawnSync(
      process.execPath,
      [path.resolve(here, '../dist/cli/simulate.js'), '--data', csv, '--banks', '2', '--rounds', '1', '--keep', used],
      { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', FINSECURE_BACKEND: 'cpu' } },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--keep .* is not empty/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack
    expect(readdirSync(used)).toEqual(['shards']);
  });
});

describe('settings the aggregator refuses', () => {
  const tool = (name: string, args: string[]) =>
    spawnSync(process.execPath, [path.resolve(here, `../dist/cli/${name}.js`), '--data', csv, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', FINSECURE_BACKEND: 'cpu' },
    });

  it('--secure-aggregation with a share cap or a quorum of one: exit 2 naming the flags, before any work', () => {
    const out = path.join(dir, 'secagg-refused');
    const cases: [string, string[], RegExp][] = [
      [
        'simulate',
        ['--banks', '1'],
        /--secure-aggregation with --banks 1: .*quorum 1: a sum of one update is that update/,
      ],
      [
        'compare',
        ['--banks', '3', '--quorum', '1'],
        /--secure-aggregation with --quorum 1: .*quorum 1: a sum of one update is that update/,
      ],
      [
        'simulate',
        ['--banks', '2', '--no-normalize-steps', '--max-share', '0.5'],
        /--secure-aggregation with --max-share 0\.5: .*maxShare 0\.5 < 1/,
      ],
    ];
    for (const [name, args, message] of cases) {
      const r = tool(name, [...args, '--rounds', '1', '--secure-aggregation', '--out', out]);
      expect(r.status, `${name} ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack
      // compare stopped before its baseline, local-only and plaintext arms.
      expect(existsSync(path.join(out, 'baseline.json'))).toBe(false);
    }
  });
});

describe('list flags', () => {
  it('--seeds: distinct integers in --seed range; an empty item is not seed 0', () => {
    expect(parseSeeds('1,2, 3')).toEqual([1, 2, 3]);
    expect(() => parseSeeds('1,,2')).toThrow(/--seeds: "" is not a seed/);
    expect(() => parseSeeds('1,1')).toThrow('--seeds: seed 1 is given twice');
    expect(() => parseSeeds('0,-0')).toThrow(/"-0" is not a seed/);
    expect(() => parseSeeds('4294967296')).toThrow(/"4294967296" is not a seed \(an integer from 0 to 2147483647\)/);
    expect(() => parseSeeds('1.5')).toThrow(UsageError);
  });

  it('--backdoor-features: no empty item read as column 0, no column twice', () => {
    const names = ['Time', 'V1', 'V2', 'Amount'];
    expect(triggerColumns(['V1', '2'], names)).toEqual([1, 2]);
    expect(() => triggerColumns(['', ' '], names)).toThrow('--backdoor-features: an empty name in ", "');
    expect(() => triggerColumns(['V1', '1'], names)).toThrow('--backdoor-features names column 1 ("V1") twice');
    expect(() => triggerColumns(['0x1'], names)).toThrow(/"0x1" is not a feature/);
  });
});

describe('the built tools', () => {
  const tfjsNode = hasTfjsNode();

  it.skipIf(tfjsNode)('--backend tensorflow without @tensorflow/tfjs-node: exit 2, says so, no stack', () => {
    const out = path.join(dir, 'tf-out');
    const r = spawnSync(
      process.execPath,
      [
        path.resolve(here, '../dist/cli/baseline.js'),
        '--data',
        csv,
        '--epochs',
        '1',
        '--backend',
        'tensorflow',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/backend "tensorflow" was requested but cannot run: .*not installed .*choose wasm or cpu/);
    expect(r.stderr).not.toMatch(/next backend is used|unexpected failure/);
  });

  it('simulate interrupted by Ctrl-C removes its temporary directory (a copy of the data and the banks keys), exit 130', async () => {
    const tmp = mkdtempSync(path.join(dir, 'tmp-'));
    const child = spawn(
      process.execPath,
      [
        path.resolve(here, '../dist/cli/simulate.js'),
        '--data',
        csv,
        '--banks',
        '2',
        '--rounds',
        '50',
        '--out',
        path.join(dir, 'sim'),
      ],
      {
        env: { PATH: process.env.PATH ?? '', TMPDIR: tmp, FINSECURE_BACKEND: 'cpu' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Interrupt once training has started: the shards, the database and the banks' keys are written by then.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('training:')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited before training: ${stdout}${stderr}`)));
    });
    const made = readdirSync(tmp).filter((f) => f.startsWith('finsecure-sim-'));
    expect(made).toHaveLength(1);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toContain(`simulate: interrupted (SIGINT); removed ${path.join(tmp, made[0]!)}`);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
