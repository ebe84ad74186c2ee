import { describe, expect, it } from 'vitest';
import { dpUpdateNormBound, dpUpdateNormRange, l2Norm, privatizeUpdate } from '../src/dp/index.js';
import { createRng, type Rng } from '../src/rng/index.js';

/** Norms of `n` honest DP updates: a random delta clipped to C, plus N(0, (zC)²) noise. */
function honestNorms(n: number, d: number, clip: number, z: number, rng: Rng): number[] {
  const out: number[] = [];
  for (let t = 0; t < n; t++) {
    // A delta that is usually longer than C, so clipping is active as in real training.
    const delta = new Float32Array(d);
    for (let i = 0; i < d; i++) delta[i] = 0.05 * rng.normal();
    out.push(l2Norm(privatizeUpdate(delta, { clip, noiseMultiplier: z }, rng).update));
  }
  return out;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

describe('dpUpdateNormBound (Laurent–Massart chi-square tail)', () => {
  it('the issue example: C = 1, z = 20, 4,097 weights give norms ≈ 1,280 > 1,000, all under the bound', () => {
    const norms = honestNorms(300, 4097, 1, 20, createRng(12));
    const bound = dpUpdateNormBound(1, 20, 4097);
    expect(Math.min(...norms)).toBeGreaterThan(1000); // why maxUpdateNorm 1,000 refused every round
    expect(Math.max(...norms)).toBeLessThan(bound);
    expect(bound).toBeGreaterThan(1370);
    expect(bound).toBeLessThan(1380);
    const { lower } = dpUpdateNormRange(1, 20, 4097);
    expect(Math.min(...norms)).toBeGreaterThan(lower);
    expect(lower).toBeGreaterThan(1150);
  });

  it('Monte Carlo: at p = 0.05 at most 5 % of honest norms leave either side, and the bound is tight to ~1 %', () => {
    const norms = honestNorms(400, 4097, 1, 20, createRng(7));
    const { lower, upper } = dpUpdateNormRange(1, 20, 4097, { failureProbability: 0.05 });
    expect(norms.filter((v) => v > upper).length).toBeLessThanOrEqual(0.05 * norms.length);
    expect(norms.filter((v) => v < lower).length).toBeLessThanOrEqual(0.05 * norms.length);
    // Conservative but not loose: within 2 % of the empirical 95th / 5th percentiles.
    expect(upper / quantile(norms, 0.95)).toBeLessThan(1.02);
    expect(lower / quantile(norms, 0.05)).toBeGreaterThan(0.98);
  });

  it('Monte Carlo in a small dimension (d = 3), where the tail terms matter', () => {
    const rng = createRng(99);
    const norms = honestNorms(20_000, 3, 2, 1.5, rng);
    for (const p of [0.2, 0.05, 0.01]) {
      const { lower, upper } = dpUpdateNormRange(2, 1.5, 3, { failureProbability: p });
      expect(norms.filter((v) => v > upper).length / norms.length).toBeLessThanOrEqual(p);
      expect(norms.filter((v) => v < lower).length / norms.length).toBeLessThanOrEqual(p);
    }
  });

  it('matches the closed form, and z = 0 bounds the update by C alone', () => {
    const x = Math.log(1e6);
    const d = 100;
    expect(dpUpdateNormBound(0.5, 2, d, { failureProbability: 1e-6 })).toBeCloseTo(
      0.5 + 1 * Math.sqrt(d + 2 * Math.sqrt(d * x) + 2 * x),
      12,
    );
    expect(dpUpdateNormBound(3, 0, 4097)).toBe(3);
    expect(dpUpdateNormRange(3, 0, 4097).lower).toBe(0);
  });

  it('refuses bad parameters with a message naming them', () => {
    expect(() => dpUpdateNormBound(0, 1, 10)).toThrow(/clip C/);
    expect(() => dpUpdateNormBound(1, -1, 10)).toThrow(/noise multiplier z/);
    expect(() => dpUpdateNormBound(1, 1, 0)).toThrow(/dimension d/);
    expect(() => dpUpdateNormBound(1, 1, 2.5)).toThrow(/dimension d/);
    expect(() => dpUpdateNormBound(1, 1, 10, { failureProbability: 1 })).toThrow(/failureProbability/);
    expect(() => dpUpdateNormBound(Number.NaN, 1, 10)).toThrow(/clip C/);
  });
});
