/** The attack lab's hostile transforms (pure), the colluders' rendezvous and the strategies' rules. */
import { describe, expect, it } from 'vitest';
import { createRng } from '@finsecure/common/rng';
import type { Dataset } from '@finsecure/common';
import {
  alieUpdate,
  alieZ,
  backdoorData,
  backdoorSuccessRate,
  backdoorTrigger,
  flipLabels,
  fraudRows,
  gaussianUpdate,
  isAttackKind,
  normalQuantile,
  rms,
  scaleUpdate,
  signFlip,
  stampTrigger,
  TRIGGER_SIGMAS,
} from '../src/attack/attacks.js';
import { Colluders } from '../src/attack/proxy.js';
import { strategyRules } from '../src/attack/lab.js';
import { intList, triggerColumns } from '../src/commands/attack.js';

const d = Float32Array.from([1, -2, 0.5, 0]);

function dataset(rows: number[][], labels: number[]): Dataset {
  return {
    features: Float32Array.from(rows.flat()),
    labels: Uint8Array.from(labels),
    numRows: rows.length,
    numFeatures: rows[0]!.length,
    featureNames: rows[0]!.map((_, j) => `f${j}`),
  };
}

describe('update attacks', () => {
  it('scale and sign flip, as copies', () => {
    expect(Array.from(scaleUpdate(d, 100))).toEqual([100, -200, 50, 0]);
    expect(Array.from(signFlip(d))).toEqual([-1, 2, -0.5, -0]);
    expect(Array.from(signFlip(d, 4))).toEqual([-4, 8, -2, -0]);
    expect(Array.from(d)).toEqual([1, -2, 0.5, 0]); // the input is untouched
    expect(() => signFlip(d, 0)).toThrow(/scale must be > 0/);
    expect(() => scaleUpdate(d, Infinity)).toThrow(/finite/);
  });

  it('Gaussian noise is seeded, zero-mean and relSigma × rms(Δ) in scale', () => {
    const big = Float32Array.from({ length: 20_000 }, (_, i) => Math.sin(i));
    const a = gaussianUpdate(big, createRng(7), 10);
    expect(Array.from(gaussianUpdate(big, createRng(7), 10))).toEqual(Array.from(a));
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.2); // σ ≈ 7.07, n = 20,000: SE ≈ 0.05
    expect(rms(a) / (10 * rms(big))).toBeCloseTo(1, 1);
  });

  it('normalQuantile matches reference values (scipy.stats.norm.ppf)', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.6)).toBeCloseTo(0.2533471031357997, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408408, 8);
    expect(() => normalQuantile(1)).toThrow(/\(0, 1\)/);
  });

  it('a little is enough: z from n and f (Baruch et al. 2019), μ − zσ per coordinate', () => {
    // n = 10, f = 2: s = ⌊10/2 + 1⌋ − 2 = 4, z = Φ⁻¹(6/10).
    expect(alieZ(10, 2)).toBeCloseTo(0.2533471031357997, 8);
    // n = 50, f = 10: s = 16, z = Φ⁻¹(34/50) = Φ⁻¹(0.68) ≈ 0.4677.
    expect(alieZ(50, 10)).toBeCloseTo(0.4676987991145082, 8);
    expect(() => alieZ(10, 6)).toThrow(/already hold a majority/);
    expect(() => alieZ(10, 0)).toThrow(/1 ≤ f < n/);
    // Coordinates (1, 3) and (2, 2): μ = (2, 2), σ = (1, 0).
    const out = alieUpdate([Float32Array.from([1, 2]), Float32Array.from([3, 2])], 1.5);
    expect(Array.from(out)).toEqual([0.5, 2]);
    expect(Array.from(alieUpdate([d], 3))).toEqual(Array.from(d)); // one colluder: σ = 0
    expect(() => alieUpdate([d, Float32Array.from([1])], 1)).toThrow(/different lengths/);
  });

  it('knows its kinds', () => {
    expect(isAttackKind('alie')).toBe(true);
    expect(isAttackKind('scale-1000')).toBe(false);
  });
});

describe('data attacks', () => {
  const ds = dataset(
    [
      [0, 10, 5],
      [2, 12, 5],
      [4, 14, 5],
      [6, 16, 5],
    ],
    [0, 1, 0, 1],
  );

  it('label flip swaps every label', () => {
    expect(Array.from(flipLabels(ds).labels)).toEqual([1, 0, 1, 0]);
    expect(flipLabels(ds).features).toBe(ds.features);
  });

  it('the trigger sits mean + 6 sample std beyond each chosen column', () => {
    const t = backdoorTrigger(ds, [0, 2]);
    const std0 = Math.sqrt((9 + 1 + 1 + 9) / 3);
    expect(t.features).toEqual([0, 2]);
    expect(t.values[0]).toBeCloseTo(3 + TRIGGER_SIGMAS * std0, 10);
    expect(t.values[1]).toBe(5); // a constant column: σ = 0
    expect(() => backdoorTrigger(ds, [3])).toThrow(/not a column index in 0..2/);
    expect(() => backdoorTrigger(ds, [])).toThrow(/at least one feature/);
  });

  it('stamps the trigger on chosen rows and builds the backdoor data (triggered frauds labelled legitimate)', () => {
    const t = { features: [1], values: [99] };
    const s = stampTrigger(ds, t, fraudRows(ds));
    expect(Array.from(s.features)).toEqual([2, 99, 5, 6, 99, 5]);
    expect(Array.from(s.labels)).toEqual([1, 1]);
    const b = backdoorData(ds, t, 2);
    expect(b.numRows).toBe(4 + 2 * 2);
    expect(Array.from(b.labels)).toEqual([0, 1, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(b.features.subarray(12))).toEqual([2, 99, 5, 6, 99, 5, 2, 99, 5, 6, 99, 5]);
    expect(() => backdoorData(dataset([[1]], [0]), { features: [0], values: [1] }, 1)).toThrow(/no fraud rows/);
  });

  it('keeps per-row times and groups when it adds rows', () => {
    const withMeta = { ...ds, times: Float64Array.from([1, 2, 3, 4]), groups: ['a', 'b', 'c', 'd'] };
    const b = backdoorData(withMeta, { features: [0], values: [9] }, 1);
    expect(Array.from(b.times!)).toEqual([1, 2, 3, 4, 2, 4]);
    expect(b.groups).toEqual(['a', 'b', 'c', 'd', 'b', 'd']);
  });

  it('backdoor success rate is the share scored below the threshold', () => {
    expect(backdoorSuccessRate([0.1, 0.6, 0.4, 0.9])).toBe(0.5);
    expect(backdoorSuccessRate([])).toBeNaN();
  });
});

describe('colluders', () => {
  it('answer every colluder with the combination once all have handed in their update', async () => {
    const c = new Colluders(2, (ds) => alieUpdate(ds, 1));
    const [a, b] = await Promise.all([
      c.contribute(1, Float32Array.from([1, 2])),
      c.contribute(1, Float32Array.from([3, 2])),
    ]);
    expect(Array.from(a)).toEqual([1, 2]);
    expect(Array.from(b)).toEqual([1, 2]);
  });

  it('go ahead with whoever came when one is missing', async () => {
    const c = new Colluders(3, (ds) => alieUpdate(ds, 1), 20);
    expect(Array.from(await c.contribute(5, Float32Array.from([4])))).toEqual([4]);
  });
});

describe('lab settings', () => {
  const r = { byzantineF: 2, trimFraction: 0.2, clipRadius: 5, clipIterations: 1, maxUpdateNorm: 1e9 };
  it('gives each strategy its rules', () => {
    expect(strategyRules('fedavg', r)).toEqual({ strategy: 'fedavg', maxUpdateNorm: 1e9 });
    expect(strategyRules('multikrum', r)).toEqual({
      strategy: 'multikrum',
      maxUpdateNorm: 1e9,
      byzantineF: 2,
      multiKrumM: 0,
    });
    expect(strategyRules('trimmed-mean', r)).toMatchObject({ trimFraction: 0.2 });
    expect(strategyRules('centered-clipping', r)).toMatchObject({ clipRadius: 5, clipIterations: 1 });
  });

  it('parses its lists and trigger columns', () => {
    expect(intList('--malicious')('1, 2,3')).toEqual([1, 2, 3]);
    expect(() => intList('--malicious')('1,,2')).toThrow(/comma-separated list of integers ≥ 1/);
    expect(() => intList('--malicious')('0')).toThrow(/--malicious/);
    const names = ['Time', 'V1', 'V2', 'V3', 'Amount'];
    expect(triggerColumns(undefined, names)).toEqual([1, 2, 3]);
    expect(triggerColumns(['V2', '0'], names)).toEqual([2, 0]);
    expect(() => triggerColumns(['V9'], names)).toThrow(/"V9" is not a feature/);
  });
});
