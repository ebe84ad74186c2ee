/**
 * Isolation Forest against scikit-learn: same data, 5 seeds each, mean ROC AUC within
 * ±0.01 and mean score_samples within 0.01 (reference values written by
 * docs/anomaly-reference.py into fixtures/anomaly-reference.json). Plus the structure:
 * c(n), determinism, JSON round trip, attribution, bad input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  averagePathLength,
  IsolationForest,
  isolationForestFromJson,
  isolationForestToJson,
  matrixFromRows,
  type Matrix,
} from '../src/anomaly/index.js';
import { rocAucExact } from '../src/metrics/index.js';
import { createRng } from '../src/rng/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const reference = JSON.parse(readFileSync(path.join(fixtures, 'anomaly-reference.json'), 'utf8')) as {
  iforest: { seeds: number[]; auc: number[]; meanAuc: number; meanScore: number[] };
};

function loadLabelled(): { x: Matrix; y: Uint8Array } {
  const lines = readFileSync(path.join(fixtures, 'anomaly-iforest.csv'), 'utf8').trim().split('\n').slice(1);
  const d = 8;
  const data = new Float32Array(lines.length * d);
  const y = new Uint8Array(lines.length);
  lines.forEach((l, i) => {
    const v = l.split(',').map(Number);
    for (let j = 0; j < d; j++) data[i * d + j] = v[j];
    y[i] = v[d];
  });
  return { x: { data, rows: lines.length, cols: d }, y };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

describe('averagePathLength c(n)', () => {
  it('matches the closed form and scikit-learn special cases', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // sklearn.ensemble._iforest._average_path_length([256]) = 10.244770920119917
    expect(averagePathLength(256)).toBeCloseTo(10.244770920119917, 12);
  });
});

describe('IsolationForest', () => {
  const { x, y } = loadLabelled();

  it('ROC AUC over 5 seeds within ±0.01 of scikit-learn, mean score within 0.01', () => {
    const aucs: number[] = [];
    const means: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const forest = IsolationForest.fit(x, createRng(seed));
      const s = forest.scoreSamples(x);
      aucs.push(
        rocAucExact(
          Array.from(s, (v) => -v),
          y,
        ),
      );
      means.push(mean(s));
    }
    expect(Math.abs(mean(aucs) - reference.iforest.meanAuc)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(mean(means) - mean(reference.iforest.meanScore))).toBeLessThanOrEqual(0.01);
    // Each seed inside scikit-learn's own seed-to-seed range, widened by 0.01.
    for (const a of aucs) {
      expect(a).toBeGreaterThanOrEqual(Math.min(...reference.iforest.auc) - 0.01);
      expect(a).toBeLessThanOrEqual(Math.max(...reference.iforest.auc) + 0.01);
    }
  });

  it('has the standard shape: ψ = min(256, n), height limit ⌈log2 ψ⌉, 100 trees', () => {
    const f = IsolationForest.fit(x, createRng(7));
    expect(f.trees.numTrees).toBe(100);
    expect(f.trees.sampleSize).toBe(256);
    expect(f.trees.heightLimit).toBe(8);
    const small = IsolationForest.fit({ data: x.data, rows: 100, cols: 8 }, createRng(7), { numTrees: 3 });
    expect(small.trees.sampleSize).toBe(100);
    expect(small.trees.heightLimit).toBe(7);
    // Every root holds the whole subsample; every tree's leaves partition it.
    const nodes = 2 ** 9 - 1;
    for (let t = 0; t < 100; t++) expect(f.trees.nodeSize[t * nodes]).toBe(256);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = IsolationForest.fit(x, createRng(3)).scoreSamples(x);
    const b = IsolationForest.fit(x, createRng(3)).scoreSamples(x);
    const c = IsolationForest.fit(x, createRng(4)).scoreSamples(x);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    for (const v of a) {
      expect(v).toBeLessThan(0);
      expect(v).toBeGreaterThanOrEqual(-1);
    }
  });

  it('round-trips through JSON with a version field and refuses a damaged document', () => {
    const f = IsolationForest.fit(x, createRng(9), { numTrees: 20 });
    const json = JSON.parse(JSON.stringify(isolationForestToJson(f))) as ReturnType<typeof isolationForestToJson>;
    expect(json.version).toBe(1);
    expect(Array.from(isolationForestFromJson(json).scoreSamples(x))).toEqual(Array.from(f.scoreSamples(x)));
    expect(() => isolationForestFromJson({ ...json, version: 2 })).toThrow(/version/);
    expect(() => isolationForestFromJson({ ...json, threshold: json.threshold.slice(1) })).toThrow(
      /threshold has \d+ values, expected/,
    );
    expect(() => isolationForestFromJson({ ...json, splitFeature: json.splitFeature.map(() => 99) })).toThrow(/range/);
  });

  it('isolates a row that differs in one feature, and attributes it to that feature', () => {
    const rng = createRng(11);
    const rows = Array.from({ length: 1000 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const data = matrixFromRows(rows);
    const f = IsolationForest.fit(data, createRng(12));
    const probe = matrixFromRows([
      [0, 0, 0, 0],
      [0, 0, 9, 0],
    ]);
    const s = f.scoreSamples(probe);
    expect(s[1]).toBeLessThan(s[0] - 0.1); // scikit-learn on such data: −0.38 vs −0.50
    const attr = f.attribution(probe);
    const row = Array.from(attr.subarray(4, 8));
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(row.indexOf(Math.max(...row))).toBe(2);
    expect(row[2]).toBeGreaterThan(0.5);
  });

  it('handles constant data (every node a leaf) and refuses bad input', () => {
    const constant = matrixFromRows(Array.from({ length: 50 }, () => [1, 2]));
    const s = IsolationForest.fit(constant, createRng(1)).scoreSamples(constant);
    // Root leaf of 50 rows: h = c(50), score −2^(−c(50)/c(50)) = −0.5.
    for (const v of s) expect(v).toBeCloseTo(-0.5, 12);
    expect(() => IsolationForest.fit(matrixFromRows([[1]]), createRng(1))).toThrow(/at least 2 rows/);
    expect(() => IsolationForest.fit(matrixFromRows([[1], [NaN]]), createRng(1))).toThrow(
      /row 1, feature 0 is not finite/,
    );
    const f = IsolationForest.fit(constant, createRng(1));
    expect(() => f.scoreSamples(matrixFromRows([[1, 2, 3]]))).toThrow(/3 features, the model was fitted on 2/);
    expect(() => IsolationForest.fit(constant, createRng(1), { numTrees: 0 })).toThrow(/numTrees/);
  });
});
