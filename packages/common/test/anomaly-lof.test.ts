/**
 * Local Outlier Factor (novelty mode) equals scikit-learn's score_samples within 1e-9
 * (relative for the huge values that duplicates produce through the 1e-10 guard) on the
 * committed fixtures: k = 20, k = 5, and k capped at n − 1; reference data with exact
 * duplicates (k-distance 0) and queries that copy reference rows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalOutlierFactor, lofFromJson, lofToJson, matrixFromRows, type Matrix } from '../src/anomaly/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const reference = JSON.parse(readFileSync(path.join(fixtures, 'anomaly-reference.json'), 'utf8')) as {
  lof: { k20: number[]; k5: number[]; k20first12: number[]; nofK20: number[] };
};

function load(name: string): Matrix {
  const rows = readFileSync(path.join(fixtures, name), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  return matrixFromRows(rows);
}

function expectClose(got: Float64Array, want: number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-9 * Math.max(1, Math.abs(want[i]));
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`row ${i}: ${got[i]} vs scikit-learn ${want[i]}`);
  }
}

describe('LocalOutlierFactor (novelty)', () => {
  const ref = load('anomaly-lof-ref.csv');
  const query = load('anomaly-lof-query.csv');

  it('equals scikit-learn score_samples within 1e-9 (k = 20, the default)', () => {
    const lof = LocalOutlierFactor.fit(ref);
    expect(lof.model.numNeighbors).toBe(20);
    expectClose(lof.scoreSamples(query), reference.lof.k20);
  });

  it('equals scikit-learn with k = 5 (inside the block of 25 duplicates: k-distance 0)', () => {
    expectClose(LocalOutlierFactor.fit(ref, { numNeighbors: 5 }).scoreSamples(query), reference.lof.k5);
  });

  it('caps k at n − 1 like scikit-learn', () => {
    const small: Matrix = { data: ref.data.subarray(0, 12 * 5), rows: 12, cols: 5 };
    const lof = LocalOutlierFactor.fit(small);
    expect(lof.model.numNeighbors).toBe(11);
    expectClose(lof.scoreSamples(query), reference.lof.k20first12);
  });

  it('scores the reference rows among themselves like negative_outlier_factor_', () => {
    const nof = LocalOutlierFactor.fit(ref).negativeOutlierFactor;
    expect(nof).not.toBeNull();
    expectClose(nof!, reference.lof.nofK20);
  });

  it('scores a copy of a duplicated reference row as −1 and far points as outliers', () => {
    const s = LocalOutlierFactor.fit(ref).scoreSamples(query);
    expect(s[1]).toBe(-1); // query 1 = the 25-times duplicated reference row
    expect(s[4]).toBeLessThan(-3); // (8, 8, 8, 8, 8)
    expect(s[5]).toBeLessThan(-3);
  });

  it('round-trips through JSON and refuses a damaged document', () => {
    const lof = LocalOutlierFactor.fit(ref, { numNeighbors: 7 });
    const json = JSON.parse(JSON.stringify(lofToJson(lof))) as ReturnType<typeof lofToJson>;
    expect(json.version).toBe(1);
    expect(Array.from(lofFromJson(json).scoreSamples(query))).toEqual(Array.from(lof.scoreSamples(query)));
    expect(() => lofFromJson({ ...json, lrd: json.lrd.slice(1) })).toThrow(/kDistance and lrd/);
    expect(() => lofFromJson({ ...json, kind: 'IsolationForest' })).toThrow(/kind/);
  });

  it('refuses one reference row, non-finite values and a feature-count mismatch', () => {
    expect(() => LocalOutlierFactor.fit(matrixFromRows([[1, 2]]))).toThrow(/at least 2 reference rows/);
    expect(() => LocalOutlierFactor.fit(matrixFromRows([[1], [Infinity]]))).toThrow(/not finite/);
    expect(() => LocalOutlierFactor.fit(ref).scoreSamples(matrixFromRows([[1, 2]]))).toThrow(/2 features/);
  });
});
