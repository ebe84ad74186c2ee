import { describe, expect, it } from 'vitest';
import { addGaussianNoise, clipUpdate, l2Norm, privatizeUpdate } from '../src/dp/index.js';
import { createRng } from '../src/rng/index.js';

describe('clipping', () => {
  it('computes the L2 norm', () => {
    expect(l2Norm(new Float32Array([3, 4]))).toBe(5);
    expect(l2Norm(new Float32Array(0))).toBe(0);
    // No overflow at the top of the float32 range (squares are summed in double).
    const big = Math.fround(3e38);
    expect(l2Norm(new Float32Array([big, big])) / (Math.SQRT2 * big)).toBeCloseTo(1, 14);
  });

  it('leaves short updates alone and scales long ones to the bound', () => {
    const short = new Float32Array([0.3, 0.4]);
    const a = clipUpdate(short, 1);
    expect(a).toEqual({ clipped: short, norm: expect.closeTo(0.5, 6), wasClipped: false });
    expect(a.clipped).not.toBe(short);
    const b = clipUpdate(new Float32Array([6, 8]), 1);
    expect(b.wasClipped).toBe(true);
    expect(b.norm).toBe(10);
    expect(b.clipped[0]).toBeCloseTo(0.6, 6);
    expect(b.clipped[1]).toBeCloseTo(0.8, 6);
    expect(() => clipUpdate(short, 0)).toThrow(/clip bound/);
    expect(() => clipUpdate(new Float32Array([NaN]), 1)).toThrow(/non-finite/);
  });

  it('property: ‖clipped‖ ≤ C always, = C when clipped, direction kept, input untouched', () => {
    const rng = createRng(2024);
    for (let trial = 0; trial < 500; trial++) {
      const dim = 1 + rng.int(3000);
      const scale = 10 ** (rng.next() * 12 - 6);
      const v = Float32Array.from({ length: dim }, () => scale * rng.normal() * (rng.next() < 0.1 ? 100 : 1));
      const copy = Float32Array.from(v);
      const C = 10 ** (rng.next() * 8 - 4);
      const { clipped, norm, wasClipped } = clipUpdate(v, C);
      const n = l2Norm(clipped);
      expect(n).toBeLessThanOrEqual(C);
      // (plain loops: deep equality on big typed arrays is slow)
      expect(v.every((x, i) => Object.is(x, copy[i]))).toBe(true);
      expect(norm).toBe(l2Norm(v));
      expect(wasClipped).toBe(norm > C);
      if (wasClipped) {
        expect(n / C).toBeGreaterThan(1 - 1e-5);
        // Same direction: clipped = (C / norm) · v up to float32 rounding.
        const i = rng.int(dim);
        expect(clipped[i]).toBeCloseTo((v[i]! * C) / norm, 5 - Math.log10(Math.abs(clipped[i]!) + 1e-30));
      } else {
        expect(clipped.every((x, i) => Object.is(x, v[i]))).toBe(true);
      }
    }
  });
});

describe('Gaussian noise', () => {
  it('has standard deviation Z·C within 2 % over 10^6 draws, and mean ≈ 0', () => {
    const clip = 2;
    const noiseMultiplier = 1.5;
    const n = 1_000_000;
    const { update, sigma, wasClipped } = privatizeUpdate(
      new Float32Array(n),
      { clip, noiseMultiplier },
      createRng(77),
    );
    expect(wasClipped).toBe(false);
    expect(sigma).toBe(3);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      sum += update[i]!;
      sq += update[i]! * update[i]!;
    }
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    expect(Math.abs(std / sigma - 1)).toBeLessThan(0.02);
    expect(Math.abs(mean)).toBeLessThan((5 * sigma) / Math.sqrt(n));
  });

  it('clips before adding noise, and is reproducible with a seeded rng', () => {
    const delta = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10);
    const a = privatizeUpdate(delta, { clip: 1, noiseMultiplier: 0 }, createRng(1));
    expect(a.wasClipped).toBe(true);
    expect(l2Norm(a.update)).toBeLessThanOrEqual(1);
    const b = privatizeUpdate(delta, { clip: 1, noiseMultiplier: 0.8 }, createRng(5));
    const c = privatizeUpdate(delta, { clip: 1, noiseMultiplier: 0.8 }, createRng(5));
    expect(b.update).toEqual(c.update);
    expect(b.sigma).toBeCloseTo(0.8, 12);
    // The noise is what separates the noisy update from the clipped one.
    let sq = 0;
    for (let i = 0; i < delta.length; i++) sq += (b.update[i]! - a.update[i]!) ** 2;
    expect(Math.sqrt(sq / delta.length)).toBeCloseTo(0.8, 1);
    expect(() => privatizeUpdate(delta, { clip: 1, noiseMultiplier: -1 }, createRng(1))).toThrow(/noiseMultiplier/);
  });

  it('adds noise in place when asked, into a new array otherwise', () => {
    const v = new Float32Array([1, 2, 3]);
    const out = addGaussianNoise(v, 0.5, createRng(3));
    expect(out).not.toBe(v);
    expect(Array.from(v)).toEqual([1, 2, 3]);
    expect(addGaussianNoise(v, 0.5, createRng(3), v)).toBe(v);
    expect(v).toEqual(out);
    expect(() => addGaussianNoise(v, -1, createRng(3))).toThrow(/sigma/);
    expect(() => addGaussianNoise(v, 1, createRng(3), new Float32Array(2))).toThrow(/output/);
  });
});
