/**
 * Issue 11 items 14 and 16 through the built finsecure-bank CLI, as a bank operator runs
 * it: `score` and `start` on header-only, `;`-separated, missing and out-of-range files,
 * a pandas index column, and custom layouts through --mapping / FINSECURE_MAPPING.
 * Needs `npx tsc -b` first (the CLI runs from dist/).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAGGLE_FEATURES } from '@finsecure/common/data';
import { DEFAULT_MLP, initWeights, manifestFor, saveModelDir } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { cleanup, tempDir, TEST_STATE_KEY_ENV, writeShards } from '../../aggregator/test/helpers/federation.js';
import { hasTfjsNode } from '../../common/test/helpers/optional-packages.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
// The bank token, and the state key every command that reads the state directory requires.
const TOKEN = { FINSECURE_BANK_TOKEN: 'x'.repeat(24), ...TEST_STATE_KEY_ENV };
let dir: string;
let shard: string;
let modelDir: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', FINSECURE_BACKEND: 'cpu', ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * Runs `start` against a port nobody listens on until its output matches `until` (data
 * loaded) or it exits (bad input); then stops it. Event-driven: no sleeps.
 */
function startUntil(args: string[], until: RegExp, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        cli,
        'start',
        '--server',
        'ws://127.0.0.1:1/ws/bank',
        '--bank-id',
        'bank-a',
        '--state-dir',
        path.join(dir, 'st'),
        ...args,
      ],
      { env: { PATH: process.env.PATH ?? '', FINSECURE_BACKEND: 'cpu', ...TOKEN, ...env } },
    );
    let out = '';
    let done = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`start did not load its data within 60 s:\n${out}`));
    }, 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (!done && until.test(out)) {
        done = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: done ? null : code, out });
    });
  });
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const HEADER = [...KAGGLE_FEATURES, 'Class'].join(',');
const row = (amount = '9.99', cls = '0') => ['1', ...new Array(28).fill('0.1'), amount, cls].join(',');

beforeAll(async () => {
  dir = tempDir('finsecure-cli-data-');
  [shard] = await writeShards(dir, 1, 200);
  modelDir = path.join(dir, 'model');
  const w = initWeights(DEFAULT_MLP, createRng(3));
  await saveModelDir(modelDir, DEFAULT_MLP, { data: w.data, manifest: manifestFor(DEFAULT_MLP) }, 4, {
    mean: new Array(30).fill(0),
    std: new Array(30).fill(1),
  });
});
afterAll(() => cleanup(dir));

describe('finsecure-bank score: CSV edge cases', () => {
  it('refuses --out naming the --data file (also through a link): the transactions are left as they were', () => {
    const data = file('own.csv', [HEADER, row()].join('\n') + '\n');
    const before = readFileSync(data, 'utf8');
    const link = path.join(dir, 'own-link.csv');
    symlinkSync(data, link);
    for (const out of [data, path.join(dir, '.', 'own.csv'), link]) {
      const r = run(['score', '--model', modelDir, '--data', data, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--out ${out} is the --data file`);
      expect(readFileSync(data, 'utf8')).toBe(before);
    }
  });

  it('a header-only file fails with "no data rows in <file>" and writes nothing', () => {
    const data = file('header-only.csv', HEADER + '\n');
    const out = path.join(dir, 'ho-scores.csv');
    const r = run(['score', '--model', modelDir, '--data', data, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`finsecure-bank: no data rows in ${data}\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('Amount = 1e39 on line 3 fails naming file, line and column; no NaN is written', () => {
    const data = file('overflow.csv', [HEADER, row(), row('1e39')].join('\n') + '\n');
    const out = path.join(dir, 'of-scores.csv');
    const r = run(['score', '--model', modelDir, '--data', data, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${data}:3: column "Amount": out of range: "1e39"`);
    expect(existsSync(out)).toBe(false);
  });

  it('a value that overflows once scaled fails with its line instead of scoring NaN', async () => {
    const tiny = path.join(dir, 'model-tiny-std');
    const w = initWeights(DEFAULT_MLP, createRng(3));
    await saveModelDir(tiny, DEFAULT_MLP, { data: w.data, manifest: manifestFor(DEFAULT_MLP) }, 4, {
      mean: new Array(30).fill(0),
      std: new Array(30).fill(1e-30),
    });
    const data = file('huge.csv', [HEADER, row(), row(), row('3e38')].join('\n') + '\n');
    const out = path.join(dir, 'huge-scores.csv');
    const r = run(['score', '--model', tiny, '--data', data, '--out', out]);
    expect(r.code).toBe(2);
    // Time = 1 scales to 1e30 (finite in float32); Amount = 3e38 on line 4 does not.
    expect(r.err).toMatch(/huge\.csv:4: column "Amount": value 3\.0+\d*e\+38 is out of range once scaled/);
    expect(existsSync(out)).toBe(false);
  });

  it('a `;`-separated or tab-separated file gets "wrong delimiter"', () => {
    for (const [sep, name] of [
      [';', '`;`-separated'],
      ['\t', 'tab-separated'],
    ] as const) {
      const data = file(`sep-${name[0]}.csv`, [HEADER, row()].map((l) => l.replaceAll(',', sep)).join('\n'));
      const r = run(['score', '--model', modelDir, '--data', data, '--out', path.join(dir, 'x.csv')]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `${data}:1: wrong delimiter: the file looks ${name}; FinSecure reads comma-separated CSV`,
      );
    }
  });

  it('a missing file: "<path>: no such file", no raw ENOENT', () => {
    const data = path.join(dir, 'nope.csv');
    const r = run(['score', '--model', modelDir, '--data', data, '--out', path.join(dir, 'x.csv')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`finsecure-bank: ${data}: no such file\n`);
  });

  it('a pandas export (unnamed index column) scores the same as without it, with a note', () => {
    const lines = readFileSync(shard, 'utf8').trim().split('\n');
    const indexed = file(
      'pandas.csv',
      [',' + lines[0], ...lines.slice(1).map((l, i) => `${i},${l}`)].join('\n') + '\n',
    );
    const a = run(['score', '--model', modelDir, '--data', shard, '--out', path.join(dir, 'plain-scores.csv')]);
    const b = run(['score', '--model', modelDir, '--data', indexed, '--out', path.join(dir, 'pandas-scores.csv')]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.err).toContain(
      `note: ${indexed}: the first column has no name (an index column, as pandas writes it); ignoring it`,
    );
    expect(readFileSync(path.join(dir, 'pandas-scores.csv'), 'utf8')).toBe(
      readFileSync(path.join(dir, 'plain-scores.csv'), 'utf8'),
    );
  });

  it('--mapping (or FINSECURE_MAPPING) reads a custom layout; a mapping can name the unnamed column', () => {
    // The shard's columns renamed, an unnamed index column in front, and the label absent.
    const lines = readFileSync(shard, 'utf8').trim().split('\n');
    const names = lines[0]!.split(',').map((c) => c.replace(/"/g, ''));
    const classAt = names.indexOf('Class');
    const renamed = names.filter((_, i) => i !== classAt).map((c) => `f_${c}`);
    const body = lines.slice(1).map((l, i) => [String(i), ...l.split(',').filter((_, k) => k !== classAt)].join(','));
    const data = file('custom.csv', [',' + renamed.join(','), ...body].join('\n') + '\n');
    const mapping = file(
      'mapping.json',
      JSON.stringify({ label: 'is_fraud', features: renamed, ignore: ['Unnamed: 0'] }),
    );
    const out = path.join(dir, 'custom-scores.csv');
    const r = run(['score', '--model', modelDir, '--data', data, '--out', out, '--mapping', mapping]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(path.join(dir, 'plain-scores.csv'), 'utf8'));
    const env = run(['score', '--model', modelDir, '--data', data, '--out', out], { FINSECURE_MAPPING: mapping });
    expect(env.code).toBe(0);
    const bad = file('bad-mapping.json', JSON.stringify({ label: 'y', feature: ['a'] }));
    const b = run(['score', '--model', modelDir, '--data', data, '--out', out, '--mapping', bad]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--mapping .*bad-mapping\.json: invalid column mapping: .*features/);
  });

  it('numeric flags take plain decimal numbers only', () => {
    const r = run(['start', '--dp-clip', '0x10']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--dp-clip must be a number > 0, got "0x10"/);
  });

  it('--help of score and start explains --mapping', () => {
    for (const cmd of ['score', 'start']) {
      const r = run([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/--mapping <file\.json>\s+JSON column mapping/);
      expect(r.out).toContain('Unnamed: <0-based index>');
    }
    expect(run(['start', '--help']).out).toContain('FINSECURE_MAPPING');
  });
});

describe('finsecure-bank start: CSV edge cases', () => {
  it('header-only, 1e39, `;`-separated and missing files are refused at start-up with a clear message', async () => {
    const cases: [string, string][] = [
      [file('s-header.csv', HEADER + '\n'), 'no data rows in '],
      [file('s-overflow.csv', [HEADER, row(), row('1e39')].join('\n')), ':3: column "Amount": out of range'],
      [file('s-semi.csv', [HEADER, row()].map((l) => l.replaceAll(',', ';')).join('\n')), 'wrong delimiter'],
      [path.join(dir, 's-missing.csv'), 's-missing.csv: no such file'],
    ];
    for (const [data, message] of cases) {
      const r = await startUntil(['--data', data], /local data loaded/);
      expect(r.code).toBe(2);
      expect(r.out).toContain(message);
      expect(r.out).not.toMatch(/ENOENT|stat '/);
    }
  });

  it('a pandas index column is ignored with a logged notice; --mapping, FINSECURE_MAPPING and the config file', async () => {
    const lines = readFileSync(shard, 'utf8').trim().split('\n');
    const indexed = file('s-pandas.csv', [',' + lines[0], ...lines.slice(1).map((l, i) => `${i},${l}`)].join('\n'));
    let r = await startUntil(['--data', indexed], /local data loaded/);
    expect(r.code).toBeNull(); // got as far as loading, then stopped by the test
    expect(r.out).toMatch(/the first column has no name \(an index column, as pandas writes it\); ignoring it/);
    expect(r.out).toMatch(/"features":30/);

    const names = lines[0]!.split(',').map((c) => c.replace(/"/g, ''));
    const custom = file('s-custom.csv', [names.map((c) => `c_${c}`).join(','), ...lines.slice(1)].join('\n'));
    const mapping = { label: 'c_Class', features: names.filter((c) => c !== 'Class').map((c) => `c_${c}`) };
    const mappingFile = file('s-mapping.json', JSON.stringify(mapping));
    r = await startUntil(['--data', custom], /local data loaded/);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/pass a column mapping \(--mapping mapping\.json/);
    for (const [args, env] of [
      [['--data', custom, '--mapping', mappingFile], {}],
      [['--data', custom], { FINSECURE_MAPPING: mappingFile }],
      [['--data', custom, '--config', file('s-config.json', JSON.stringify({ mapping }))], {}],
    ] as [string[], Record<string, string>][]) {
      r = await startUntil(args, /local data loaded/, env);
      expect(r.code).toBeNull();
      expect(r.out).toMatch(/"features":30/);
    }
  });

  const tfjsNode = hasTfjsNode();
  it.skipIf(tfjsNode)(
    '--backend tensorflow where it cannot run: exit 2 naming the setting, before the data loads',
    async () => {
      const r = await startUntil(['--data', shard, '--backend', 'tensorflow'], /local data loaded/);
      expect(r.code).toBe(2);
      expect(r.out).toMatch(
        /--backend \/ FINSECURE_BACKEND: backend "tensorflow" was requested but cannot run: .*not installed/,
      );
      expect(r.out).not.toMatch(/next backend is used|local data loaded|\n +at /);
    },
  );
});
