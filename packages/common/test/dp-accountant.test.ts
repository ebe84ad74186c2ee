/**
 * The RDP accountant against independent references. The hard-coded values come from
 * packages/common/docs/dp-reference.py (60-digit mpmath from the closed forms, no code
 * shared with src/dp); see docs/dp-accountant-reference.md.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RDP_ORDERS,
  erfcx,
  gaussianDelta,
  gaussianEpsilon,
  gaussianMu,
  gaussianRdp,
  normalCdf,
  RdpAccountant,
} from '../src/dp/index.js';

// [z, T, δ, exact ε, tight ε, tight order, standard ε, standard order, δ_exact(ε = 1)]
const REFERENCE: [number, number, number, number, number, number, number, number, number][] = [
  [0.5, 1, 1e-5, 9.99725614643, 10.725284317, 3.25, 11.5970522771, 3.4, 0.509861660055],
  [1.0, 1, 1e-5, 4.37717809568, 4.75272833682, 5.0, 5.30258509299, 6.0, 0.126936737507],
  [1.0, 10, 1e-5, 17.8565868301, 19.0474323873, 2.45, 20.1752836433, 2.5, 0.818517815513],
  [1.1, 100, 1e-5, 79.2754955275, 83.0997794994, 1.5, 84.9821785314, 1.55, 0.999991012439],
  [2.0, 50, 1e-6, 22.4245158274, 23.6979221066, 2.45, 24.835340372, 2.5, 0.876437913342],
  [4.0, 200, 1e-5, 20.675508047, 22.0198523277, 2.3, 23.215592937, 2.35, 0.876437913342],
  [10.0, 1, 1e-5, 0.340669364684, 0.375291222366, 41.0, 0.484852613854, 49.0, 1.23083598364e-25],
  [10.0, 1000, 1e-5, 17.8565868301, 19.0474323873, 2.45, 20.1752836433, 2.5, 0.818517815513],
];

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('exact Gaussian privacy curve (Balle & Wang 2018)', () => {
  it('erfcx and Φ match high-precision values', () => {
    // mpmath, 40 digits, rounded to double
    expect(rel(erfcx(0.5), 0.6156903441929259)).toBeLessThan(1e-14);
    expect(rel(erfcx(1.9999), 0.2554063563747341)).toBeLessThan(1e-13);
    expect(rel(erfcx(2), 0.25539567631050575)).toBeLessThan(1e-14);
    expect(rel(erfcx(10), 0.05614099274382259)).toBeLessThan(1e-14);
    expect(rel(erfcx(1e4), 5.641895807268084e-5)).toBeLessThan(1e-14);
    expect(rel(erfcx(-2), 108.94090438997797)).toBeLessThan(1e-14);
    expect(normalCdf(0)).toBe(0.5);
    expect(rel(normalCdf(-10), 7.619853024160525e-24)).toBeLessThan(1e-13);
    expect(rel(1 - normalCdf(3), 0.0013498980316300946)).toBeLessThan(1e-12);
  });

  it('matches the reference ε and δ', () => {
    for (const [z, T, d, exact, , , , , deltaAt1] of REFERENCE) {
      const mu = gaussianMu(z, T);
      expect(rel(gaussianEpsilon(d, mu), exact)).toBeLessThan(1e-10);
      expect(rel(gaussianDelta(1, mu), deltaAt1)).toBeLessThan(1e-9);
    }
  });

  it('handles the edges', () => {
    expect(gaussianMu(0, 3)).toBe(Infinity);
    expect(gaussianEpsilon(1e-5, Infinity)).toBe(Infinity);
    expect(gaussianDelta(0, 0)).toBe(0);
    expect(gaussianEpsilon(0.5, 0.1)).toBe(0); // δ(0) = 2Φ(μ/2) − 1 ≈ 0.04 < 0.5
  });
});

describe('RdpAccountant', () => {
  it('RDP of one Gaussian release is α / (2z²)', () => {
    expect(gaussianRdp(2, 8)).toBe(1);
    expect(gaussianRdp(0, 2)).toBe(Infinity);
    expect(() => gaussianRdp(1, 1)).toThrow(/order/);
  });

  it('matches the independent reference for both conversions', () => {
    for (const [z, T, d, , tight, tightOrder, standard, standardOrder] of REFERENCE) {
      const acc = new RdpAccountant().addGaussian(z, T);
      const a = acc.epsilon(d);
      expect(rel(a.epsilon, tight)).toBeLessThan(1e-9);
      expect(a.order).toBe(tightOrder);
      const b = acc.epsilon(d, 'mironov2017');
      expect(rel(b.epsilon, standard)).toBeLessThan(1e-9);
      expect(b.order).toBe(standardOrder);
    }
  });

  it('is an upper bound on the exact ε, and a reasonably tight one', () => {
    for (const z of [0.3, 0.5, 0.8, 1, 1.5, 2, 3, 5, 8, 13, 20, 50, 100]) {
      for (const T of [1, 2, 5, 10, 30, 100, 300, 1000]) {
        for (const d of [1e-3, 1e-5, 1e-8]) {
          const acc = new RdpAccountant().addGaussian(z, T);
          const exact = gaussianEpsilon(d, gaussianMu(z, T));
          const tight = acc.epsilon(d).epsilon;
          const standard = acc.epsilon(d, 'mironov2017').epsilon;
          expect(tight).toBeGreaterThanOrEqual(exact);
          expect(standard).toBeGreaterThanOrEqual(tight);
          // In the regime that matters (ε ≥ 0.5, δ ≤ 1e-5) RDP overstates ε by < 20 %
          // (tight) / < 60 % (standard); it is looser for tiny ε with large δ.
          if (exact >= 0.5 && d <= 1e-5) {
            expect(tight / exact).toBeLessThan(1.2);
            expect(standard / exact).toBeLessThan(1.6);
          }
        }
      }
    }
  });

  it('composes by addition, also across different noise multipliers', () => {
    const a = new RdpAccountant().addGaussian(1.2, 30).addGaussian(3, 70);
    const b = new RdpAccountant();
    for (let i = 0; i < 30; i++) b.addGaussian(1.2);
    for (let i = 0; i < 70; i++) b.addGaussian(3);
    expect(a.releases).toBe(100);
    expect(rel(a.epsilon(1e-5).epsilon, b.epsilon(1e-5).epsilon)).toBeLessThan(1e-12);
    // Gaussians compose to a Gaussian with μ² = Σ 1/z²: RDP must bound that exact ε.
    const exact = gaussianEpsilon(1e-5, Math.sqrt(30 / 1.44 + 70 / 9));
    expect(a.epsilon(1e-5).epsilon).toBeGreaterThanOrEqual(exact);
    expect(a.epsilon(1e-5).epsilon / exact).toBeLessThan(1.2);
  });

  it('starts at ε = 0; no noise means ε = ∞', () => {
    expect(new RdpAccountant().epsilon(1e-5).epsilon).toBe(0);
    const acc = new RdpAccountant().addGaussian(0);
    expect(acc.epsilon(1e-5).epsilon).toBe(Infinity);
    expect(new RdpAccountant().wouldExceed(0, 1e-5, 1000)).toBe(true);
    expect(new RdpAccountant().addGaussian(0, 0).epsilon(1e-5).epsilon).toBe(0);
  });

  it('wouldExceed stops before the budget', () => {
    for (const [z, budget] of [
      [1, 8],
      [2, 3],
      [5, 1],
      [0.8, 20],
    ] as const) {
      const acc = new RdpAccountant();
      const predicted = acc.remainingReleases(z, 1e-5, budget);
      let rounds = 0;
      while (!acc.wouldExceed(z, 1e-5, budget)) {
        acc.addGaussian(z);
        rounds++;
        expect(acc.epsilon(1e-5).epsilon).toBeLessThanOrEqual(budget);
      }
      expect(rounds).toBeGreaterThan(0);
      expect(rounds).toBe(predicted);
      // One more round would indeed break the budget.
      expect(new RdpAccountant().addGaussian(z, rounds + 1).epsilon(1e-5).epsilon).toBeGreaterThan(budget);
      expect(acc.remainingReleases(z, 1e-5, budget)).toBe(0);
    }
  });

  it('serialises its accumulated RDP losslessly', () => {
    const acc = new RdpAccountant().addGaussian(1.3, 17).addGaussian(0.9, 3);
    const restored = RdpAccountant.fromJSON(JSON.parse(JSON.stringify(acc)));
    expect(restored.releases).toBe(20);
    expect(restored.orders).toEqual(DEFAULT_RDP_ORDERS);
    expect(restored.rdpCurve).toEqual(acc.rdpCurve);
    expect(restored.epsilon(1e-6)).toEqual(acc.epsilon(1e-6));
    restored.addGaussian(2);
    acc.addGaussian(2);
    expect(restored.epsilon(1e-6)).toEqual(acc.epsilon(1e-6));

    const noNoise = RdpAccountant.fromJSON(JSON.parse(JSON.stringify(new RdpAccountant([2, 4]).addGaussian(0))));
    expect(noNoise.epsilon(1e-5).epsilon).toBe(Infinity);
    expect(() => RdpAccountant.fromJSON({ version: 1, orders: [2], rdp: [1, 2], releases: 1 })).toThrow();
    expect(() => RdpAccountant.fromJSON({ version: 2, orders: [2], rdp: [1], releases: 1 })).toThrow();
    expect(() => RdpAccountant.fromJSON({ version: 1, orders: [0.5], rdp: [1], releases: 1 })).toThrow();
  });

  it('accepts a custom order grid and validates it', () => {
    const acc = new RdpAccountant([2, 8, 32]).addGaussian(4, 4);
    // rdp(α) = α/8; standard conversion at α = 8: 1 + log(1e5)/7
    expect(acc.epsilon(1e-5, 'mironov2017')).toEqual({ epsilon: 1 + Math.log(1e5) / 7, order: 8 });
    expect(() => new RdpAccountant([])).toThrow();
    expect(() => new RdpAccountant([1])).toThrow(/> 1/);
  });
});
