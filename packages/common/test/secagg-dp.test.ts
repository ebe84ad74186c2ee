/**
 * Distributed DP under secure aggregation (common/secagg/distributed-dp.ts): each bank's weighted,
 * clipped contribution stays within C, the shares of q banks add up to the full (zC)² per
 * coordinate, the noiseless input is exactly secure FedAvg's, and the fixed-point clip check names
 * the setting to raise. Seeded RNGs; statistical bounds are generous (≥ 6 standard errors).
 */
import { describe, expect, it } from 'vitest';
import { l2Norm } from '../src/dp/clip.js';
import { createRng } from '../src/rng/index.js';
import {
  decodeFixedPointSum,
  distributedDpClipIssue,
  distributedDpInput,
  encodeFixedPoint,
  maxFractionalBits,
  noiseShareSigma,
  requiredSecaggClip,
  secureFedAvgInput,
  secureFedAvgStep,
  type SecureWeighting,
} from '../src/secagg/index.js';

const weighting: SecureWeighting = { exampleScale: 1000, lossExponent: 0, normalizeSteps: true, stepScale: 100 };
const config = { epochs: 1, batchSize: 32 };

function randomDelta(d: number, scale: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: d }, () => scale * rng.normal());
}

describe('distributed DP shares', () => {
  it('σ_share = zC/√q and the fixed-point clip must cover C + 6σ_share', () => {
    expect(noiseShareSigma({ clip: 2, noiseMultiplier: 1.1, quorum: 4 })).toBeCloseTo(1.1, 12);
    expect(requiredSecaggClip({ clip: 2, noiseMultiplier: 1.1, quorum: 4 })).toBeCloseTo(2 + 6 * 1.1, 12);
    expect(distributedDpClipIssue(8.6, { clip: 2, noiseMultiplier: 1.1, quorum: 4 })).toBeNull();
    const issue = distributedDpClipIssue(1, { clip: 2, noiseMultiplier: 1.1, quorum: 4 });
    expect(issue).toMatch(/secaggClip 1 cannot carry distributed DP noise/);
    expect(issue).toMatch(/raise secaggClip/);
    expect(() => noiseShareSigma({ clip: 1, noiseMultiplier: 1, quorum: 0 })).toThrow(/quorum 0/);
    expect(() => noiseShareSigma({ clip: 0, noiseMultiplier: 1, quorum: 2 })).toThrow(/dp clip 0/);
  });

  it('without noise, the input is secure FedAvg of the L2-clipped update, weight applied', () => {
    const delta = randomDelta(50, 1, 1); // norm ≈ 7: clipped to 2
    const counts = { numExamples: 400, numTrained: 400, loss: 0.3 };
    const dp = { clip: 2, noiseMultiplier: 0, quorum: 3 };
    const out = distributedDpInput(delta, counts, config, weighting, dp, createRng(2));
    expect(out.wasClipped).toBe(true);
    const plain = secureFedAvgInput(delta, counts, config, weighting);
    expect(out.weight).toBeCloseTo(0.4, 12);
    expect(out.tau).toBe(plain.tau);
    // Sensitivity: ‖w · clip_C(Δ) / τ‖ ≤ C (w ≤ 1, τ ≥ 1).
    expect(l2Norm(out.values.subarray(0, 50))).toBeLessThanOrEqual(2 / out.tau + 1e-12);
    const ratio = 2 / l2Norm(delta);
    for (let j = 0; j < 50; j++) expect(out.values[j]).toBeCloseTo((0.4 * delta[j]! * ratio) / out.tau, 6);
    expect(out.values[50]).toBeCloseTo(0.4, 12);
    expect(out.values[51]).toBeCloseTo(0.4 * plain.values[51]!, 12);
  });

  it('the shares of q banks sum to noise of variance (zC)² per coordinate, through the fixed point', () => {
    const d = 4000;
    const q = 4;
    const dp = { clip: 1, noiseMultiplier: 1.5, quorum: q };
    const clip = requiredSecaggClip(dp);
    const fp = { fractionalBits: maxFractionalBits(clip, 1, q), clip, maxWeight: 1, maxBanks: q };
    const w: SecureWeighting = { exampleScale: 500, lossExponent: 0, normalizeSteps: false, stepScale: 1 };
    const sum = new Uint32Array(d + 2);
    let exact = new Float64Array(d);
    let totalWeight = 0;
    let cut = 0;
    for (let b = 0; b < q; b++) {
      const delta = randomDelta(d, 0.005, 10 + b);
      const counts = { numExamples: 200 + 100 * b, numTrained: 200 + 100 * b, loss: 0.2 };
      const out = distributedDpInput(delta, counts, config, w, dp, createRng(100 + b));
      const noiseless = secureFedAvgInput(delta, counts, config, w);
      exact = exact.map((x, j) => x + noiseless.weight * noiseless.values[j]!);
      totalWeight += out.weight;
      const enc = encodeFixedPoint(out.values, 1, fp);
      cut += enc.clipped;
      for (let j = 0; j < d + 2; j++) sum[j] = (sum[j]! + enc.encoded[j]!) >>> 0;
    }
    expect(cut).toBe(0);
    const decoded = decodeFixedPointSum(sum, fp);
    expect(decoded[d]).toBeCloseTo(totalWeight, 5);
    let s2 = 0;
    let mean = 0;
    for (let j = 0; j < d; j++) {
      const e = decoded[j]! - exact[j]!;
      mean += e / d;
      s2 += (e * e) / d;
    }
    const target = (dp.noiseMultiplier * dp.clip) ** 2;
    // Sample variance of d = 4000 normals: relative standard error √(2/d) ≈ 2.2 %.
    expect(s2 / target).toBeGreaterThan(0.85);
    expect(s2 / target).toBeLessThan(1.15);
    expect(Math.abs(mean)).toBeLessThan((6 * Math.sqrt(target)) / Math.sqrt(d));
    // The FedAvg step divides by Σw: the model's noise is (zC)² / (Σw)² per coordinate.
    const { totalWeight: tw } = secureFedAvgStep(decoded, 1);
    expect(tw).toBeCloseTo(totalWeight, 5);
  });
});
