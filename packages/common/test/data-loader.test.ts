import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DataError,
  HANDBOOK_FEATURES,
  KAGGLE_FEATURES,
  detectLayout,
  isGzipFile,
  loadCsv,
  loadDataset,
  parseColumnMapping,
  splitCsvLine,
  writeCsv,
  type ColumnMapping,
} from '../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'finsecure-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fixture(text: string, name = `f${n++}.csv`, gzip = false): string {
  const path = join(dir, name);
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

/** A Kaggle-layout CSV; `quoted` mimics the real file (quoted header and label values). */
function kaggle(rows: number, quoted = false): string {
  const q = (s: string) => (quoted ? `"${s}"` : s);
  const header = [...KAGGLE_FEATURES, 'Class'].map(q).join(',');
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const v = Array.from({ length: 28 }, (_, j) => ((i + 1) * (j + 1)) / 100 - 1);
    lines.push([`${i * 10}.0`, ...v, (i * 3.5).toFixed(2), q(String(i % 3 === 0 ? 1 : 0))].join(','));
  }
  return lines.join('\n') + '\n';
}

const HANDBOOK_HEADER = [
  'TRANSACTION_ID',
  'TX_DATETIME',
  'CUSTOMER_ID',
  'TERMINAL_ID',
  'TX_AMOUNT',
  'TX_TIME_SECONDS',
  'TX_TIME_DAYS',
  'TX_FRAUD',
  'TX_FRAUD_SCENARIO',
  ...HANDBOOK_FEATURES.slice(1),
];

function handbook(rows: number): string {
  const lines = [HANDBOOK_HEADER.join(',')];
  for (let i = 0; i < rows; i++) {
    const fraud = i % 4 === 1 ? 1 : 0;
    const eng = Array.from({ length: 14 }, (_, j) => (i + j) / 10);
    lines.push(
      [
        i,
        `2018-04-01 00:00:${10 + i}`,
        `C${i % 3}`,
        900 + i,
        (10 + i).toFixed(2),
        31 + i,
        0,
        fraud,
        fraud ? 2 : 0,
        ...eng,
      ].join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/** Runs `fn`, expects a DataError, returns it. */
async function dataError(fn: () => Promise<unknown>): Promise<DataError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('splitCsvLine', () => {
  it('splits plain and RFC 4180 quoted fields', () => {
    const out: string[] = [];
    expect(splitCsvLine('a,b,,c', out)).toBe(4);
    expect(out.slice(0, 4)).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('"a,1","say ""hi""",x,', out)).toBe(4);
    expect(out.slice(0, 4)).toEqual(['a,1', 'say "hi"', 'x', '']);
    expect(splitCsvLine('"open,b', out)).toBe(-1);
  });
});

describe('loadCsv: Kaggle layout', () => {
  it('loads 30 features (Time, V1..V28, Amount), labels and times from a plain file', async () => {
    const r = await loadCsv(fixture(kaggle(6)));
    expect(r.layout).toBe('kaggle');
    const ds = r.dataset;
    expect(ds.numRows).toBe(6);
    expect(ds.numFeatures).toBe(30);
    expect(ds.featureNames).toEqual([...KAGGLE_FEATURES]);
    expect(Array.from(ds.labels)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(r.frauds).toBe(2);
    expect(Array.from(ds.times!)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(ds.features[2 * 30 + 0]).toBe(20); // Time is feature 0
    expect(ds.features[2 * 30 + 1]).toBeCloseTo(3 / 100 - 1, 6); // V1
    expect(ds.features[2 * 30 + 29]).toBeCloseTo(7, 6); // Amount
    expect(ds.groups).toBeUndefined();
    expect(ds.features).toBeInstanceOf(Float32Array);
    expect(ds.features.length).toBe(6 * 30);
  });

  it('handles the real file quoting ("Class", "0"/"1"), a BOM and a missing final newline', async () => {
    const text = '\uFEFF' + kaggle(4, true).trimEnd();
    const ds = (await loadCsv(fixture(text))).dataset;
    expect(ds.numRows).toBe(4);
    expect(Array.from(ds.labels)).toEqual([1, 0, 0, 1]);
  });

  it('reads gzip by extension and by magic bytes', async () => {
    const byExt = fixture(kaggle(5), 'k.csv.gz', true);
    const byMagic = fixture(kaggle(5), 'k-compressed.csv', true);
    expect(await isGzipFile(byMagic)).toBe(true);
    expect(await isGzipFile(fixture(kaggle(1)))).toBe(false);
    const a = await loadDataset(byExt);
    const b = await loadDataset(byMagic);
    const plain = await loadDataset(fixture(kaggle(5)));
    expect(a.features).toEqual(plain.features);
    expect(b.labels).toEqual(plain.labels);
  });

  it('reports progress with rows read and ends at the total', async () => {
    const calls: [number, number, number][] = [];
    await loadCsv(fixture(kaggle(25)), { progressEvery: 10, onProgress: (r, b, t) => calls.push([r, b, t]) });
    expect(calls.map((c) => c[0])).toEqual([10, 20, 25]);
    const last = calls[calls.length - 1];
    expect(last[1]).toBe(last[2]);
  });

  it('grows past its initial capacity (geometric growth) without losing rows', async () => {
    const ds = await loadDataset(fixture(kaggle(20_000)));
    expect(ds.numRows).toBe(20_000);
    expect(ds.times![19_999]).toBe(199_990);
    expect(ds.features.length).toBe(20_000 * 30);
  });
});

describe('loadCsv: handbook layout', () => {
  it('uses TX_AMOUNT + 14 engineered features, CUSTOMER_ID groups and TX_TIME_SECONDS times', async () => {
    for (const gzip of [false, true]) {
      const r = await loadCsv(fixture(handbook(8), `hb${n++}.csv${gzip ? '.gz' : ''}`, gzip));
      expect(r.layout).toBe('handbook');
      const ds = r.dataset;
      expect(ds.numFeatures).toBe(15);
      expect(ds.featureNames).toEqual([...HANDBOOK_FEATURES]);
      for (const leak of ['TX_FRAUD_SCENARIO', 'TRANSACTION_ID', 'TX_DATETIME', 'TERMINAL_ID', 'TX_TIME_DAYS']) {
        expect(ds.featureNames).not.toContain(leak);
      }
      expect(ds.groups).toEqual(['C0', 'C1', 'C2', 'C0', 'C1', 'C2', 'C0', 'C1']);
      expect(Array.from(ds.times!)).toEqual([31, 32, 33, 34, 35, 36, 37, 38]);
      expect(Array.from(ds.labels)).toEqual([0, 1, 0, 0, 0, 1, 0, 0]);
      expect(ds.features[3 * 15]).toBeCloseTo(13, 5); // TX_AMOUNT
      expect(ds.features[3 * 15 + 1]).toBeCloseTo(0.3, 5); // TX_DURING_WEEKEND = (3 + 0) / 10
    }
  });
});

describe('loadCsv: custom mapping', () => {
  const text = [
    'id,amount,merchant,hour,customer,ts,is_fraud,notes',
    '1,10.5,grocery,3,c1,100,0,x',
    '2,99,travel,23,c2,200,1,y',
    '3,5,grocery,12,c1,300,0,z',
    '4,42,fuel,8,c3,400,0,w',
  ].join('\n');
  const mapping: ColumnMapping = {
    label: 'is_fraud',
    features: ['hour', 'amount'],
    categorical: ['merchant'],
    ignore: ['id', 'notes'],
    group: 'customer',
    time: 'ts',
  };

  it('one-hot encodes categories found in the data (sorted) after the numeric features', async () => {
    const r = await loadCsv(fixture(text), { layout: mapping });
    const ds = r.dataset;
    expect(r.layout).toBe('custom');
    expect(ds.featureNames).toEqual(['hour', 'amount', 'merchant=fuel', 'merchant=grocery', 'merchant=travel']);
    expect(r.categories).toEqual({ merchant: ['fuel', 'grocery', 'travel'] });
    expect(Array.from(ds.features.subarray(0, 5))).toEqual([3, 10.5, 0, 1, 0]);
    expect(Array.from(ds.features.subarray(5, 10))).toEqual([23, 99, 0, 0, 1]);
    expect(Array.from(ds.features.subarray(15, 20))).toEqual([8, 42, 1, 0, 0]);
    expect(ds.groups).toEqual(['c1', 'c2', 'c1', 'c3']);
    expect(Array.from(ds.times!)).toEqual([100, 200, 300, 400]);
    expect(Array.from(ds.labels)).toEqual([0, 1, 0, 0]);
  });

  it('uses given categories in the given order and rejects unknown values', async () => {
    const given = { ...mapping, categories: { merchant: ['travel', 'grocery', 'fuel', 'online'] } };
    const ds = (await loadCsv(fixture(text), { layout: given })).dataset;
    expect(ds.featureNames.slice(2)).toEqual([
      'merchant=travel',
      'merchant=grocery',
      'merchant=fuel',
      'merchant=online',
    ]);
    expect(Array.from(ds.features.subarray(0, 6))).toEqual([3, 10.5, 0, 1, 0, 0]);
    const e = await dataError(() =>
      loadCsv(fixture(text), { layout: { ...mapping, categories: { merchant: ['grocery', 'travel'] } } }),
    );
    expect(e.message).toMatch(/:5: column "merchant": unknown category "fuel"/);
    expect(e.line).toBe(5);
  });

  it('refuses unmapped columns, unknown columns and double roles', async () => {
    const p = fixture(text);
    let e = await dataError(() => loadCsv(p, { layout: { ...mapping, ignore: ['id'] } }));
    expect(e.message).toMatch(/columns not in the mapping: notes/);
    e = await dataError(() => loadCsv(p, { layout: { ...mapping, features: ['hour', 'amount', 'velocity'] } }));
    expect(e.message).toMatch(/feature column "velocity" not found; found columns: id, amount, merchant/);
    e = await dataError(() => loadCsv(p, { layout: { ...mapping, label: 'fraud' } }));
    expect(e.message).toMatch(/label column "fraud" not found; found columns: id, amount, merchant, hour/);
    e = await dataError(() => loadCsv(p, { layout: { ...mapping, features: ['hour', 'amount', 'is_fraud'] } }));
    expect(e.message).toMatch(/"is_fraud" is both the label and a feature/);
    e = await dataError(() => loadCsv(p, { layout: { ...mapping, ignore: ['id', 'notes', 'hour'] } }));
    expect(e.message).toMatch(/"hour" is both ignored and a feature/);
  });

  it('validates a mapping read from JSON', () => {
    expect(parseColumnMapping({ label: 'y', features: ['a'] })).toEqual({ label: 'y', features: ['a'] });
    expect(() => parseColumnMapping({ label: 'y', feature: ['a'] })).toThrow(/features/);
    expect(() => parseColumnMapping({ label: '', features: [] })).toThrow(/label/);
  });
});

describe('loadCsv: errors name the file line and the column', () => {
  const header = [...KAGGLE_FEATURES, 'Class'].join(',');
  const good = (cls = '0', v1 = '0.5') => ['1', v1, ...new Array(27).fill('0.1'), '9.99', cls].join(',');

  it('non-numeric value', async () => {
    const p = fixture([header, good(), good('0', 'abc')].join('\n'));
    const e = await dataError(() => loadCsv(p));
    expect(e.message).toBe(`${p}:3: column "V1": not a number: "abc"`);
    expect([e.file, e.line, e.column]).toEqual([p, 3, 'V1']);
  });

  it('empty value and NaN / Infinity', async () => {
    let e = await dataError(() => loadCsv(fixture([header, good('0', '')].join('\n'))));
    expect(e.message).toMatch(/:2: column "V1": not a number: an empty value/);
    e = await dataError(() => loadCsv(fixture([header, good(), good(), good('0', 'NaN')].join('\n'))));
    expect(e.message).toMatch(/:4: column "V1": not a number: "NaN"/);
    e = await dataError(() => loadCsv(fixture([header, good('0', 'Infinity')].join('\n'))));
    expect(e.message).toMatch(/:2: column "V1"/);
  });

  it('label not 0/1', async () => {
    for (const bad of ['2', 'yes', '', '-1']) {
      const e = await dataError(() => loadCsv(fixture([header, good(), good(bad)].join('\n'))));
      expect(e.message).toMatch(/:3: column "Class": label must be 0 or 1, got/);
    }
  });

  it('missing and extra columns; unclosed quotes', async () => {
    const short = good().split(',').slice(0, 29).join(',');
    let e = await dataError(() => loadCsv(fixture([header, good(), short].join('\n'))));
    expect(e.message).toMatch(/:3: column "Amount": missing \(row has 29 columns, header has 31\)/);
    e = await dataError(() => loadCsv(fixture([header, good() + ',7'].join('\n'))));
    expect(e.message).toMatch(/:2: row has 32 columns, header has 31/);
    e = await dataError(() => loadCsv(fixture([header, '"1,' + good()].join('\n'))));
    expect(e.message).toMatch(/:2: unclosed quote/);
  });

  it('counts lines including blank ones, CRLF files too', async () => {
    const p = fixture([header, good(), '', good(), good('0', 'x')].join('\r\n'));
    const e = await dataError(() => loadCsv(p));
    expect(e.line).toBe(5);
  });

  it('unknown or missing label column lists the columns found', async () => {
    let e = await dataError(() => loadCsv(fixture('a,b,c\n1,2,3\n')));
    expect(e.message).toMatch(/cannot detect the layout.*found columns: a, b, c/);
    e = await dataError(() => loadCsv(fixture('a,b,c\n1,2,3\n'), { layout: 'kaggle' }));
    expect(e.message).toMatch(/label column "Class" not found; found columns: a, b, c/);
    e = await dataError(() => loadCsv(fixture(kaggle(2)), { layout: 'handbook' }));
    expect(e.message).toMatch(/label column "TX_FRAUD" not found; found columns: Time, V1/);
  });

  it('a Kaggle or handbook file lacking columns is not loaded as a generic file', async () => {
    const noV28 = kaggle(2).replace(',V28,', ',X28,');
    let e = await dataError(() => loadCsv(fixture(noV28)));
    expect(e.message).toMatch(/looks like the Kaggle layout but lacks V28/);
    const noNight = handbook(2).replace('TX_DURING_NIGHT', 'NIGHT');
    e = await dataError(() => loadCsv(fixture(noNight)));
    expect(e.message).toMatch(/looks like the handbook layout but lacks TX_DURING_NIGHT/);
    expect(() => detectLayout(['x', 'y'])).toThrow(/cannot detect/);
  });

  it('empty file, empty header cell, duplicate header, missing file', async () => {
    let e = await dataError(() => loadCsv(fixture('')));
    expect(e.message).toMatch(/empty/);
    e = await dataError(() => loadCsv(fixture('a,,Class\n1,2,0\n')));
    expect(e.message).toMatch(/:1: header column 2 has no name/);
    e = await dataError(() => loadCsv(fixture('a,a,Class\n1,2,0\n')));
    expect(e.message).toMatch(/column "a" appears twice/);
    e = await dataError(() => loadCsv(join(dir, 'nope.csv')));
    expect(e.message).toBe(`${join(dir, 'nope.csv')}: no such file`);
    e = await dataError(() => loadCsv(dir));
    expect(e.message).toBe(`${dir}: is a directory, not a CSV file`);
  });

  it('bad categorical, group and time cells, and bad category lists', async () => {
    const m: ColumnMapping = { label: 'y', features: ['a'], categorical: ['k'], group: 'g', time: 't' };
    const head = 'a,k,g,t,y';
    let e = await dataError(() => loadCsv(fixture([head, '1,x,c1,5,0', '2, ,c1,6,0'].join('\n')), { layout: m }));
    expect(e.message).toMatch(/:3: column "k": empty category/);
    e = await dataError(() => loadCsv(fixture([head, '1,x,,5,0'].join('\n')), { layout: m }));
    expect(e.message).toMatch(/:2: column "g": empty group id/);
    e = await dataError(() => loadCsv(fixture([head, '1,x,c1,5,0', '1,x,c1,later,1'].join('\n')), { layout: m }));
    expect(e.message).toMatch(/:3: column "t": time is not a number: "later"/);
    e = await dataError(() =>
      loadCsv(fixture([head, '1,x,c,5,0'].join('\n')), { layout: { ...m, categories: { k: [] } } }),
    );
    expect(e.message).toMatch(/categories of "k" are empty/);
    e = await dataError(() =>
      loadCsv(fixture([head, '1,x,c,5,0'].join('\n')), { layout: { ...m, categories: { k: ['x', 'x'] } } }),
    );
    expect(e.message).toMatch(/categories of "k" contain duplicates/);
    e = await dataError(() => loadCsv(fixture([head, '1,x,c,5,0'].join('\n')), { layout: { ...m, group: 'a' } }));
    expect(e.message).toMatch(/"a" is both a feature and the group/);
  });

  it('a header-only file is an error unless allowEmpty; a blank first line is an error', async () => {
    const headerOnly = fixture([...KAGGLE_FEATURES, 'Class'].join(',') + '\n\n');
    expect((await dataError(() => loadCsv(headerOnly))).message).toBe(`no data rows in ${headerOnly}`);
    const ds = await loadDataset(headerOnly, { allowEmpty: true });
    expect(ds.numRows).toBe(0);
    expect(ds.numFeatures).toBe(30);
    const e = await dataError(() => loadCsv(fixture('\nClass,a\n0,1\n')));
    expect(e.message).toMatch(/:1: the header line is empty/);
  });

  it('corrupt gzip is reported, not hung on', async () => {
    const bytes = gzipSync(kaggle(200));
    const p = join(dir, 'corrupt.csv.gz');
    writeFileSync(p, bytes.subarray(0, bytes.length - 40));
    const e = await dataError(() => loadCsv(p));
    expect(e.message).toMatch(/cannot decompress/);
  });
});

describe('writeCsv errors', () => {
  it('refuses feature names that clash with the finsecure layout columns or repeat', async () => {
    const base = { features: new Float32Array(2), labels: new Uint8Array(1), numRows: 1, numFeatures: 2 };
    await expect(writeCsv({ ...base, featureNames: ['a', 'Class'] }, join(dir, 'w1.csv'))).rejects.toThrow(
      /feature name "Class" is reserved/,
    );
    await expect(writeCsv({ ...base, featureNames: ['a', 'a'] }, join(dir, 'w2.csv'))).rejects.toThrow(/unique/);
  });
});

describe('writeCsv round trip', () => {
  it('Kaggle, handbook and custom (finsecure layout) datasets reload identically', async () => {
    const sources = [
      await loadCsv(fixture(kaggle(30, true))),
      await loadCsv(fixture(handbook(12))),
      await loadCsv(fixture('amount,merchant,y,cust,t\n1.5,a,0,"x,1",10\n2.25,b,1,y,20.5\n-3.125,a,0,x,30\n'), {
        layout: { label: 'y', features: ['amount'], categorical: ['merchant'], group: 'cust', time: 't' },
      }),
    ];
    const expected = ['kaggle', 'handbook', 'finsecure'];
    for (const [k, src] of sources.entries()) {
      for (const ext of ['.csv', '.csv.gz']) {
        const out = join(dir, `rt${n++}${ext}`);
        expect(await writeCsv(src.dataset, out)).toBe(expected[k]);
        const back = await loadCsv(out);
        expect(back.layout).toBe(expected[k]);
        expect(back.dataset.featureNames).toEqual(src.dataset.featureNames);
        expect(back.dataset.features).toEqual(src.dataset.features);
        expect(back.dataset.labels).toEqual(src.dataset.labels);
        expect(back.dataset.groups).toEqual(src.dataset.groups);
        expect(back.dataset.times).toEqual(src.dataset.times);
      }
    }
  });
});
