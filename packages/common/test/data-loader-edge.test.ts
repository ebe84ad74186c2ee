/**
 * Issue 11 items 14 and 16 at the loader (every entry point loads through it): numbers
 * that do not fit float32, header-only files, the wrong delimiter, missing files, and
 * CSVs exported with a pandas index (first header cell empty).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkFloat32,
  DataError,
  FLOAT32_MAX,
  KAGGLE_FEATURES,
  loadCsv,
  parseDecimal,
  type ColumnMapping,
} from '../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'finsecure-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fixture(text: string): string {
  const path = join(dir, `e${n++}.csv`);
  writeFileSync(path, text);
  return path;
}

const HEADER = [...KAGGLE_FEATURES, 'Class'].join(',');
/** One Kaggle row; `amount` goes in the Amount column. */
const row = (amount = '9.99', cls = '0', time = '1') => [time, ...new Array(28).fill('0.1'), amount, cls].join(',');

async function dataError(fn: () => Promise<unknown>): Promise<DataError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('parseDecimal: plain decimal notation, finite in float32', () => {
  it('accepts decimal notation and the float32 boundary', () => {
    for (const [s, x] of [
      ['0', 0],
      ['-0.5', -0.5],
      ['+.25', 0.25],
      ['1e-50', 1e-50], // underflows to 0 in float32: finite, accepted
      [' 7 ', 7],
      ['3.4028235e38', 3.4028235e38], // rounds to FLOAT32_MAX
      ['-3.4028235e38', -3.4028235e38],
      ['0e0', 0],
    ] as const) {
      expect(parseDecimal(s)).toBe(x);
    }
    expect(Math.fround(parseDecimal('3.4028235e38') as number)).toBe(FLOAT32_MAX);
  });

  it('names what is wrong with everything else', () => {
    expect(parseDecimal('1e39')).toBe('out of float32 range');
    expect(parseDecimal('-1e39')).toBe('out of float32 range');
    expect(parseDecimal('3.4028236e38')).toBe('out of float32 range');
    expect(Math.fround(3.4028236e38)).toBe(Infinity); // the boundary really is there
    expect(parseDecimal('1e400')).toBe('out of float32 range');
    expect(parseDecimal('Infinity')).toBe('not finite');
    expect(parseDecimal('-Infinity')).toBe('not finite');
    for (const s of ['', '  ', 'NaN', 'abc', '0x10', '0b1', '0o7', '1_000', '1,5', '--1', 'inf']) {
      expect(parseDecimal(s)).toBe('not a number');
    }
    expect(checkFloat32(Infinity)).toBe('not finite');
    expect(checkFloat32(1e39)).toBe('out of float32 range');
    expect(checkFloat32(NaN)).toBe('not a number');
    expect(checkFloat32(-2.5)).toBeNull();
  });
});

describe('loadCsv: non-finite and out-of-range values are rejected with file, line and column', () => {
  it('Amount = 1e39 on line 3 (the issue example)', async () => {
    const p = fixture([HEADER, row(), row('1e39')].join('\n'));
    const e = await dataError(() => loadCsv(p));
    expect([e.file, e.line, e.column]).toEqual([p, 3, 'Amount']);
    expect(e.message).toBe(
      `${p}:3: column "Amount": out of range: "1e39" is beyond the float32 range (|x| ≤ 3.4028235e38)`,
    );
  });

  it('every numeric role: features, -1e39, 1e400, Infinity, hex, the time column, the label', async () => {
    const cases: [string, RegExp][] = [
      [row('-1e39'), /:2: column "Amount": out of range/],
      [row('1e400'), /:2: column "Amount": out of range: "1e400"/],
      [row('Infinity'), /:2: column "Amount": not a finite number: "Infinity"/],
      [row('0x10'), /:2: column "Amount": not a number: "0x10"/],
      [row('1', '0', '1e39'), /:2: column "Time": out of range/],
      [row('1', '0x1'), /:2: column "Class": label must be 0 or 1, got "0x1"/],
    ];
    for (const [line, msg] of cases) {
      const e = await dataError(() => loadCsv(fixture([HEADER, line].join('\n'))));
      expect(e.message).toMatch(msg);
    }
    const m: ColumnMapping = { label: 'y', features: ['a'], time: 't' };
    const e = await dataError(() => loadCsv(fixture('a,t,y\n1,5,0\n1,1e39,0\n'), { layout: m }));
    expect(e.message).toMatch(/:3: column "t": time is out of range/);
    // The largest float32 itself loads.
    const ok = await loadCsv(fixture([HEADER, row('3.4028235e38')].join('\n')));
    expect(ok.dataset.features[29]).toBe(FLOAT32_MAX);
  });
});

describe('loadCsv: CSV edge cases', () => {
  it('a header-only file: "no data rows in <file>" (also without a label column)', async () => {
    const p = fixture(HEADER + '\n');
    expect((await dataError(() => loadCsv(p))).message).toBe(`no data rows in ${p}`);
    const q = fixture(KAGGLE_FEATURES.join(',') + '\r\n\r\n');
    expect((await dataError(() => loadCsv(q, { requireLabel: false }))).message).toBe(`no data rows in ${q}`);
  });

  it('a `;`- or tab-separated file: "wrong delimiter", not a giant column', async () => {
    const semi = fixture([HEADER, row()].map((l) => l.replaceAll(',', ';')).join('\n'));
    let e = await dataError(() => loadCsv(semi));
    expect(e.message).toBe(
      `${semi}:1: wrong delimiter: the file looks \`;\`-separated; FinSecure reads comma-separated CSV ` +
        '(export it with "," as the separator)',
    );
    // European decimal commas in the rows do not fool it: the header decides.
    const euro = fixture(['Time;V1;Amount;Class', '1;0,5;9,99;0'].join('\n'));
    e = await dataError(() => loadCsv(euro));
    expect(e.message).toMatch(/:1: wrong delimiter: the file looks `;`-separated/);
    const tab = fixture([HEADER, row()].map((l) => l.replaceAll(',', '\t')).join('\n'));
    e = await dataError(() => loadCsv(tab));
    expect(e.message).toMatch(/:1: wrong delimiter: the file looks tab-separated; FinSecure reads comma-separated CSV/);
    // A `;` inside a quoted header name is not a delimiter.
    const quoted = fixture('"a;b;c",Class\n1,0\n');
    expect((await loadCsv(quoted)).dataset.featureNames).toEqual(['a;b;c']);
  });

  it('a missing file: "<path>: no such file"', async () => {
    const p = join(dir, 'missing', 'tx.csv');
    const e = await dataError(() => loadCsv(p));
    expect(e.message).toMatch(/tx\.csv: no such file/);
    expect(e.message).not.toMatch(/ENOENT|stat/);
  });
});

describe('loadCsv: a pandas index column (first header cell empty)', () => {
  const pandas = (rows: string[]) => ['', HEADER].join(',') + '\n' + rows.map((r, i) => `${i},${r}`).join('\n') + '\n';

  it('is ignored with a notice, in every built-in layout', async () => {
    const p = fixture(pandas([row('1.5'), row('2.5', '1')]));
    const seen: string[] = [];
    const r = await loadCsv(p, { onNotice: (m) => seen.push(m) });
    expect(r.layout).toBe('kaggle');
    expect(r.dataset.numFeatures).toBe(30);
    expect(Array.from(r.dataset.labels)).toEqual([0, 1]);
    expect(r.dataset.features[29]).toBe(1.5);
    expect(r.notices).toEqual([
      `${p}: the first column has no name (an index column, as pandas writes it); ignoring it ` +
        '(a column mapping can use it as "Unnamed: 0")',
    ]);
    expect(seen).toEqual(r.notices);
    // The FinSecure layout takes every other column as a feature: not the index.
    const f = await loadCsv(fixture(',a,b,Class\n0,1,2,0\n1,3,4,1\n'));
    expect(f.layout).toBe('finsecure');
    expect(f.dataset.featureNames).toEqual(['a', 'b']);
    // Scoring files without a label column too.
    const s = await loadCsv(
      fixture(',' + KAGGLE_FEATURES.join(',') + '\n7,' + row().split(',').slice(0, 30).join(',') + '\n'),
      {
        requireLabel: false,
      },
    );
    expect(s.dataset.numFeatures).toBe(30);
    expect(s.notices).toHaveLength(1);
    // A short row of such a file is counted against the file's own header (31 columns, the label is
    // the loader's stand-in), and the first missing column is named.
    const cut = fixture(',' + KAGGLE_FEATURES.join(',') + '\n7,' + row().split(',').slice(0, 9).join(',') + '\n');
    expect((await dataError(() => loadCsv(cut, { requireLabel: false }))).message).toBe(
      `${cut}:2: column "${KAGGLE_FEATURES[9]}": missing (row has 10 columns, header has 31)`,
    );
    // A layout the file does not fit lists the file's columns, not the stand-in label.
    const listed = (await dataError(() => loadCsv(cut, { requireLabel: false, layout: 'handbook' }))).message;
    expect(listed).toMatch(/found columns: /);
    expect(listed).not.toMatch(/TX_FRAUD/);
  });

  it('a mapping can ignore it, use it, or name an unnamed column elsewhere', async () => {
    const text = ',amount,y\n0,1.5,0\n1,2.5,1\n';
    const ignored = await loadCsv(fixture(text), {
      layout: { label: 'y', features: ['amount'], ignore: ['Unnamed: 0'] },
    });
    expect(ignored.dataset.featureNames).toEqual(['amount']);
    expect(ignored.notices).toEqual([]);
    const used = await loadCsv(fixture(text), { layout: { label: 'y', features: ['Unnamed: 0', 'amount'] } });
    expect(Array.from(used.dataset.features)).toEqual([0, 1.5, 1, 2.5]);
    // Without a mapping entry the leading index is still ignored (a mapping need not list it).
    const plain = await loadCsv(fixture(text), { layout: { label: 'y', features: ['amount'] } });
    expect(plain.dataset.featureNames).toEqual(['amount']);
    // An unnamed column that is not the first is an error with the name to use for it...
    const middle = fixture('amount,,y\n1.5,x,0\n');
    const e = await dataError(() => loadCsv(middle, { layout: { label: 'y', features: ['amount'] } }));
    expect(e.message).toBe(
      `${middle}:1: header column 2 has no name; name it in the file, or refer to it as "Unnamed: 1" in a ` +
        'column mapping (e.g. "ignore": ["Unnamed: 1"])',
    );
    // ...which works.
    const named = await loadCsv(middle, { layout: { label: 'y', features: ['amount'], ignore: ['Unnamed: 1'] } });
    expect(named.dataset.numRows).toBe(1);
  });
});
