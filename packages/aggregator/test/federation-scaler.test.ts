/**
 * Issue 11 item 13 at the aggregator: the global scaler fixed from the banks' hello
 * statistics (count, mean, M2), validated by the wire schema, equals a two-pass
 * computation over the pooled rows for the issue's two examples.
 */
import { describe, expect, it } from 'vitest';
import { computeScalerStats, subset } from '@finsecure/common/data';
import { FeatureStats } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import type { Dataset } from '@finsecure/common';
import { globalScaler } from '../src/federation/scaler.js';

describe('globalScaler', () => {
  // Feature 0: 1e6 + N(0,1); feature 1: epoch seconds spread over one hour (float32, as loaded).
  const rows = 6_000;
  const rng = createRng(21);
  const features = new Float32Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    features[i * 2] = 1e6 + rng.normal();
    features[i * 2 + 1] = 1_700_000_000 + rng.next() * 3600;
  }
  const ds: Dataset = {
    features,
    labels: new Uint8Array(rows),
    numRows: rows,
    numFeatures: 2,
    featureNames: ['a', 't'],
  };

  /** Two-pass population std of column j (float64 over the stored float32 values). */
  const twoPass = (j: number) => {
    let m = 0;
    for (let i = 0; i < rows; i++) m += features[i * 2 + j]!;
    m /= rows;
    let v = 0;
    for (let i = 0; i < rows; i++) v += (features[i * 2 + j]! - m) ** 2;
    return { mean: m, std: Math.sqrt(v / rows) };
  };

  it('merges three banks’ hello statistics into the pooled two-pass mean and std', () => {
    const cuts = [0, 500, 4_100, rows];
    const hellos = [0, 1, 2].map((b) => {
      const s = computeScalerStats(
        subset(
          ds,
          Array.from({ length: cuts[b + 1]! - cuts[b]! }, (_, i) => cuts[b]! + i),
        ),
      );
      // Exactly what a bank puts on the wire, validated as the aggregator validates it.
      return FeatureStats.parse(
        JSON.parse(JSON.stringify({ count: s.count, mean: Array.from(s.mean), m2: Array.from(s.m2) })),
      );
    });
    const { scaler, banks } = globalScaler(hellos, 2);
    expect(banks).toBe(3);
    for (const j of [0, 1]) {
      const ref = twoPass(j);
      expect(Math.abs(scaler.mean[j]! - ref.mean) / ref.mean).toBeLessThan(1e-12);
      expect(Math.abs(scaler.std[j]! - ref.std) / ref.std).toBeLessThan(1e-6);
    }
    expect(scaler.std[0]).toBeCloseTo(1.0, 1);
    expect(scaler.std[1]).toBeGreaterThan(1000); // ≈ 3600/√12, not "constant" (1)
    // Bank order does not matter.
    const reversed = globalScaler([...hellos].reverse(), 2).scaler;
    for (const j of [0, 1]) expect(Math.abs(reversed.std[j]! - scaler.std[j]!) / scaler.std[j]!).toBeLessThan(1e-12);
  });

  it('leaves out empty or mis-sized statistics; identity when none is usable', () => {
    const good = FeatureStats.parse({ count: 4, mean: [1, 2], m2: [4, 16] });
    const r = globalScaler([good, { count: 0, mean: [0, 0], m2: [0, 0] }, { count: 9, mean: [5], m2: [1] }], 2);
    expect(r.banks).toBe(1);
    expect(r.scaler).toEqual({ mean: [1, 2], std: [1, 2] });
    expect(globalScaler([], 2)).toEqual({ scaler: { mean: [0, 0], std: [1, 1] }, banks: 0 });
  });
});
