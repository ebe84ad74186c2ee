import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HANDBOOK_FEATURES, loadCsv } from '../src/data/index.js';
import type { PartitionManifest } from '../src/partition/index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'packages/common/src/cli/datasets.ts');
const dir = mkdtempSync(join(tmpdir(), 'finsecure-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from TypeScript sources through tsx (no build needed). */
function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cli, ...args],
      { cwd: root, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const p = (name: string) => join(dir, name);
const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as PartitionManifest;

function handbookFixture(path: string): void {
  const header = ['TRANSACTION_ID', 'TX_DATETIME', 'CUSTOMER_ID', 'TERMINAL_ID', 'TX_TIME_SECONDS', 'TX_TIME_DAYS'];
  header.push('TX_FRAUD', 'TX_FRAUD_SCENARIO', ...HANDBOOK_FEATURES);
  const lines = [header.join(',')];
  for (let i = 0; i < 600; i++) {
    const fraud = i % 17 === 3 ? 1 : 0;
    const feats = HANDBOOK_FEATURES.map((_, j) => ((i * 7 + j * 13) % 100) / 10);
    lines.push(
      [i, `2018-04-01 00:00:00`, `C${(i * 37) % 40}`, i % 9, i * 60, Math.floor(i / 100), fraud, fraud, ...feats].join(
        ',',
      ),
    );
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

describe('datasets CLI', () => {
  it('--help explains every flag and exits 0', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/generate/);
    expect(top.stdout).toMatch(/partition/);
    const gen = await run('generate', '--help');
    for (const flag of ['--rows', '--seed', '--out', '--fraud-rate']) expect(gen.stdout).toContain(flag);
    const part = await run('partition', '--help');
    expect(part.code).toBe(0);
    for (const flag of [
      '--input',
      '--banks',
      '--scheme',
      '--alpha',
      '--quantity-dist',
      '--seed',
      '--out',
      '--test-fraction',
      '--split',
      '--min-fraud-per-bank',
      '--layout',
      '--mapping',
    ]) {
      expect(part.stdout).toContain(flag);
    }
    expect(part.stdout).toMatch(/iid.*dirichlet.*quantity.*natural/s);
  });

  it('generate writes a reproducible Kaggle-layout file', async () => {
    const a = await run('generate', '--rows', '3000', '--seed', '3', '--fraud-rate', '0.01', '--out', p('gen-a.csv'));
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/wrote .*gen-a\.csv\s+3,000 rows, 30 frauds/);
    const b = await run(
      'generate',
      '--rows',
      '3000',
      '--seed',
      '3',
      '--fraud-rate',
      '0.01',
      '--out',
      p('gen-b.csv.gz'),
    );
    expect(b.code).toBe(0);
    const [la, lb] = [await loadCsv(p('gen-a.csv')), await loadCsv(p('gen-b.csv.gz'))];
    expect(la.layout).toBe('kaggle');
    expect(la.dataset.numRows).toBe(3000);
    expect(la.frauds).toBe(30);
    expect(lb.dataset.features).toEqual(la.dataset.features);
  });

  it('partition writes shards, a shared test set and a manifest that match the files', async () => {
    const src = p('part-src.csv');
    expect((await run('generate', '--rows', '5000', '--seed', '1', '--fraud-rate', '0.01', '--out', src)).code).toBe(0);
    const out = p('iid');
    const r = await run('partition', '--input', src, '--banks', '3', '--scheme', 'iid', '--seed', '7', '--out', out);
    expect(r.code).toBe(0);
    for (const f of ['bank-1.csv', 'bank-2.csv', 'bank-3.csv', 'test.csv', 'manifest.json']) {
      expect(existsSync(join(out, f))).toBe(true);
      expect(r.stdout).toContain(join(out, f));
    }
    const m = manifestOf(out);
    expect(m).toMatchObject({ version: 1, scheme: 'iid', seed: 7, banks: 3, minFraudPerBank: 1 });
    expect(m.source).toMatchObject({ path: src, layout: 'kaggle', rows: 5000, frauds: 50 });
    expect(m.split).toEqual({ kind: 'stratified', testFraction: 0.2 });
    expect(m.alpha).toBeUndefined();
    expect(m.test.rows).toBe(1000);
    expect(m.test.frauds).toBe(10);
    let rows = m.test.rows;
    for (const s of m.shards) {
      const ds = (await loadCsv(join(out, s.file))).dataset;
      expect(ds.numRows).toBe(s.rows);
      expect(ds.labels.reduce((a, b) => a + b, 0)).toBe(s.frauds);
      expect(s.frauds).toBeGreaterThanOrEqual(1);
      rows += s.rows;
    }
    expect(rows).toBe(5000);
    const test = (await loadCsv(join(out, 'test.csv'))).dataset;
    expect(test.numRows).toBe(1000);

    // Same seed -> byte-identical output; the shards reload as a partition input too.
    const again = p('iid-again');
    await run('partition', '--input', src, '--banks', '3', '--scheme', 'iid', '--seed', '7', '--out', again);
    for (const f of ['bank-2.csv', 'test.csv']) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(out, f)))).toBe(true);
    }
    const re = await run(
      'partition',
      '--input',
      join(out, 'bank-1.csv'),
      '--banks',
      '2',
      '--scheme',
      'dirichlet',
      '--alpha',
      '1',
      '--out',
      p('re'),
    );
    expect(re.code).toBe(0);
    expect(manifestOf(p('re')).alpha).toBe(1);
  });

  it('natural partition with a time split keeps customers whole and tests on the latest rows', async () => {
    const src = p('hb.csv');
    handbookFixture(src);
    const out = p('natural');
    const r = await run(
      'partition',
      '--input',
      src,
      '--banks',
      '3',
      '--scheme',
      'natural',
      '--split',
      'time',
      '--test-fraction',
      '0.25',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/layout handbook/);
    const m = manifestOf(out);
    expect(m.split.kind).toBe('time');
    expect(m.fileLayout).toBe('handbook');
    const owner = new Map<string, number>();
    let maxTrainTime = -Infinity;
    for (const s of m.shards) {
      const ds = (await loadCsv(join(out, s.file))).dataset;
      expect(ds.numFeatures).toBe(15);
      for (let i = 0; i < ds.numRows; i++) {
        expect(owner.get(ds.groups![i]) ?? s.bank).toBe(s.bank);
        owner.set(ds.groups![i], s.bank);
        maxTrainTime = Math.max(maxTrainTime, ds.times![i]);
      }
    }
    const test = (await loadCsv(join(out, 'test.csv'))).dataset;
    expect(test.numRows).toBe(150);
    expect(Math.min(...test.times!)).toBeGreaterThanOrEqual(maxTrainTime);
  });

  it('accepts a custom column mapping file', async () => {
    const src = p('custom.csv');
    const rows = ['id,amt,kind,y'];
    for (let i = 0; i < 40; i++) rows.push(`${i},${i * 1.5},${['a', 'b', 'c'][i % 3]},${i % 5 === 0 ? 1 : 0}`);
    writeFileSync(src, rows.join('\n'));
    writeFileSync(
      p('map.json'),
      JSON.stringify({ label: 'y', features: ['amt'], categorical: ['kind'], ignore: ['id'] }),
    );
    const r = await run(
      'partition',
      '--input',
      src,
      '--mapping',
      p('map.json'),
      '--banks',
      '2',
      '--scheme',
      'iid',
      '--out',
      p('custom'),
    );
    expect(r.code).toBe(0);
    const m = manifestOf(p('custom'));
    expect(m.featureNames).toEqual(['amt', 'kind=a', 'kind=b', 'kind=c']);
    expect(m.fileLayout).toBe('finsecure');
    expect((await loadCsv(join(p('custom'), 'bank-1.csv'))).dataset.featureNames).toEqual(m.featureNames);
  });

  it('rejects bad flags with a message naming the flag and exit code 2', { timeout: 180_000 }, async () => {
    const src = p('flags.csv');
    writeFileSync(src, 'Class,a\n0,1\n1,2\n0,3\n1,4\n');
    const base = ['partition', '--input', src, '--banks', '2', '--scheme', 'iid', '--out', p('flags-out')];
    const with_ = (flag: string, value: string) => {
      const args = [...base];
      const at = args.indexOf(flag);
      if (at >= 0) args[at + 1] = value;
      else args.push(flag, value);
      return args;
    };
    const cases: [string[], RegExp][] = [
      [with_('--banks', 'x'), /--banks must be an integer ≥ 1, got "x"/],
      [with_('--banks', '0'), /--banks must be an integer ≥ 1, got "0"/],
      [with_('--banks', '2.5'), /--banks must be an integer ≥ 1, got "2.5"/],
      [
        with_('--scheme', 'random'),
        /--scheme must be one of iid, dirichlet, quantity, natural, natural-skew, got "random"/,
      ],
      [with_('--alpha', '0'), /--alpha must be a number > 0, got "0"/],
      [with_('--alpha', 'abc'), /--alpha must be a number > 0, got "abc"/],
      [with_('--seed', '-1'), /--seed must be an integer in \[0, 4294967295\], got "-1"/],
      [with_('--test-fraction', '1'), /--test-fraction must be a number in \[0, 1\), got "1"/],
      [with_('--split', 'sideways'), /--split must be one of stratified, time, got "sideways"/],
      [with_('--min-fraud-per-bank', '-1'), /--min-fraud-per-bank must be an integer ≥ 0, got "-1"/],
      [with_('--layout', 'excel'), /--layout must be one of auto, kaggle, handbook, finsecure, got "excel"/],
      [with_('--quantity-dist', 'zipf'), /--quantity-dist must be one of dirichlet, powerlaw, got "zipf"/],
      [with_('--mapping', p('missing.json')), /--mapping: cannot read column mapping .*missing\.json: no such file/],
      [['generate', '--rows', '0', '--out', p('g.csv')], /--rows must be an integer ≥ 1, got "0"/],
      [
        ['generate', '--rows', '10', '--fraud-rate', '1.5', '--out', p('g.csv')],
        /--fraud-rate must be a number in \[0, 1\], got "1.5"/,
      ],
      [['generate', '--rows', '10', '--seed', 'one', '--out', p('g.csv')], /--seed must be an integer/],
      [['generate', '--out', p('g.csv')], /required option '--rows <n>' not specified/],
      [
        ['partition', '--input', src, '--banks', '2', '--out', p('x')],
        /required option '--scheme <name>' not specified/,
      ],
      [[...base, '--bogus'], /unknown option '--bogus'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(...args)));
    results.forEach((r, k) => {
      expect({ args: cases[k][0].join(' '), code: r.code }).toEqual({ args: cases[k][0].join(' '), code: 2 });
      expect(r.stderr).toMatch(cases[k][1]);
    });
    writeFileSync(p('bad-map.json'), '{"label": "Class", "feature": ["a"]}');
    const badMap = await run(...with_('--mapping', p('bad-map.json')));
    expect(badMap.code).toBe(2);
    expect(badMap.stderr).toMatch(/invalid column mapping/);
    writeFileSync(p('comma-map.json'), '{\n  "label": "Class",\n}\n');
    const comma = await run(...with_('--mapping', p('comma-map.json')));
    expect(comma.code).toBe(2);
    expect(comma.stderr).toMatch(
      /--mapping: column mapping \S*comma-map\.json:3:1 is not valid JSON: Expected double-quoted property name/,
    );
  });

  it('reports bad input data and impossible partitions with exit code 2', async () => {
    const bad = p('bad.csv');
    writeFileSync(bad, 'Class,a\n0,1\n1,oops\n');
    const common = ['--banks', '2', '--scheme', 'iid', '--out', p('bad-out')];
    let r = await run('partition', '--input', bad, ...common);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.csv:3: column "a": not a number: "oops"/);

    r = await run('partition', '--input', p('does-not-exist.csv'), ...common);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${p('does-not-exist.csv')}: no such file`);

    const few = p('few.csv');
    writeFileSync(few, 'Class,a\n' + Array.from({ length: 50 }, (_, i) => `${i < 3 ? 1 : 0},${i}`).join('\n'));
    r = await run(
      'partition',
      '--input',
      few,
      '--banks',
      '4',
      '--scheme',
      'iid',
      '--test-fraction',
      '0',
      '--out',
      p('few-out'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot give each of 4 banks 1 fraud row\(s\): the data has only 3/);

    r = await run('partition', '--input', few, '--banks', '2', '--scheme', 'natural', '--out', p('few-out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--scheme natural needs a group column/);

    // An --out that cannot be written is named before any work (mkdir said only "EEXIST").
    r = await run('partition', '--input', few, '--banks', '2', '--scheme', 'iid', '--out', few);
    expect([r.code, r.stderr.trim()]).toEqual([2, `error: --out ${few} is a file; expected a directory`]);
    r = await run('generate', '--rows', '10', '--out', join(few, 'x.csv'));
    expect([r.code, r.stderr.trim()]).toEqual([
      2,
      `error: --out ${join(few, 'x.csv')}: ${few} is a file, not a directory`,
    ]);
    r = await run('generate', '--rows', '10', '--out', dir);
    expect([r.code, r.stderr.trim()]).toEqual([2, `error: --out ${dir} is a directory; expected a file`]);

    r = await run(
      'partition',
      '--input',
      few,
      '--banks',
      '2',
      '--scheme',
      'iid',
      '--split',
      'time',
      '--out',
      p('few-out'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--split time needs a time column/);

    r = await run('partition', '--input', few, '--banks', '2', '--scheme', 'iid', '--alpha', '3', '--out', p('few-ok'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/--alpha is ignored by --scheme iid/);
  });
});
