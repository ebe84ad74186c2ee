/**
 * Issue 11 items 14 and 16 through `npm run datasets -- partition` (the CLI from its
 * TypeScript sources, as datasets-cli.test.ts runs it): out-of-range values, header-only,
 * `;`-separated and missing files, and a pandas index column.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { KAGGLE_FEATURES, loadCsv } from '../src/data/index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'packages/common/src/cli/datasets.ts');
const dir = mkdtempSync(join(tmpdir(), 'finsecure-cli-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cli, ...args],
      { cwd: root, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const HEADER = [...KAGGLE_FEATURES, 'Class'].join(',');
const rows = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    [i, ...new Array(28).fill((i % 7) / 10), (i * 1.5).toFixed(2), i % 5 === 0 ? 1 : 0].join(','),
  );
function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}
const partition = (input: string, out: string) =>
  run('partition', '--input', input, '--banks', '2', '--scheme', 'iid', '--out', join(dir, out));

describe('datasets partition: CSV edge cases', () => {
  it('refuses 1e39, a header-only file, a `;`-separated file and a missing file with clear messages (exit 2)', async () => {
    const bad = rows(20);
    bad[1] = bad[1]!.replace(/,[^,]+,([01])$/, ',1e39,$1');
    const cases: [string, string][] = [
      [file('overflow.csv', [HEADER, ...bad]), ':3: column "Amount": out of range: "1e39"'],
      [file('header-only.csv', [HEADER]), 'no data rows in '],
      [
        file(
          'semi.csv',
          [HEADER, ...rows(5)].map((l) => l.replaceAll(',', ';')),
        ),
        ':1: wrong delimiter: the file looks `;`-separated; FinSecure reads comma-separated CSV',
      ],
      [join(dir, 'missing.csv'), `${join(dir, 'missing.csv')}: no such file`],
    ];
    const results = await Promise.all(cases.map(([input], i) => partition(input, `out-bad-${i}`)));
    for (const [i, r] of results.entries()) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(cases[i]![1]);
      expect(r.stderr).not.toMatch(/ENOENT|at .*\.ts:\d+/); // no raw errno, no stack trace
    }
  });

  it('accepts a pandas export: the unnamed index column is ignored, with a note', async () => {
    const input = file('pandas.csv', [',' + HEADER, ...rows(40).map((l, i) => `${i},${l}`)]);
    const r = await partition(input, 'out-pandas');
    expect(r.stderr).toContain(
      `note: ${input}: the first column has no name (an index column, as pandas writes it); ignoring it`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/40 rows, 8 frauds .* 30 features, layout kaggle/);
    const shard = await loadCsv(join(dir, 'out-pandas', 'bank-1.csv'));
    expect(shard.dataset.featureNames).toEqual(KAGGLE_FEATURES);
  });
});
