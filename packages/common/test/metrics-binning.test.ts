/**
 * How much AUPRC / ROC AUC lose by being computed from 1000-bin histograms instead of
 * raw scores, on score distributions like a fraud model's: heavily imbalanced, fraud
 * pushed towards 1, legitimate traffic piled up near 0, some saturation.
 */
import { describe, expect, it } from 'vitest';
import {
  auprcBinningErrorBound,
  auprcExact,
  auprcFromHistogram,
  rocAucBinningErrorBound,
  rocAucExact,
  rocAucFromHistogram,
  scoreHistogram,
} from '../src/metrics/index.js';
import { createRng, type Rng } from '../src/rng/index.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

interface Scenario {
  name: string;
  fraudRate: number;
  /** Logit of a fraud / legitimate transaction. */
  pos: (rng: Rng) => number;
  neg: (rng: Rng) => number;
}

const scenarios: Scenario[] = [
  { name: 'well separated', fraudRate: 0.002, pos: (r) => 4 + 2 * r.normal(), neg: (r) => -6 + 2 * r.normal() },
  { name: 'overlapping', fraudRate: 0.01, pos: (r) => 1 + 1.5 * r.normal(), neg: (r) => -2 + 1.5 * r.normal() },
  {
    name: 'saturated (confident model)',
    fraudRate: 0.005,
    pos: (r) => 8 + 3 * r.normal(),
    neg: (r) => -9 + 3 * r.normal(),
  },
  { name: 'SMOTE-inflated scores', fraudRate: 0.002, pos: (r) => 3 + r.normal(), neg: (r) => -1 + 1.2 * r.normal() },
];

function draw(s: Scenario, seed: number, n: number) {
  const rng = createRng(seed);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const fraud = rng.next() < s.fraudRate;
    labels[i] = fraud ? 1 : 0;
    scores[i] = sigmoid(fraud ? s.pos(rng) : s.neg(rng));
  }
  return { scores, labels };
}

describe('binning error with 1000 bins', () => {
  for (const s of scenarios) {
    it(`${s.name}: AUPRC error < 0.01, ROC AUC error < 0.001, both within the computed bounds`, () => {
      for (const seed of [1, 2, 3]) {
        const { scores, labels } = draw(s, seed, 100_000);
        const h = scoreHistogram(scores, labels, 1000);
        const apErr = Math.abs(auprcFromHistogram(h) - auprcExact(scores, labels));
        const aucErr = Math.abs(rocAucFromHistogram(h) - rocAucExact(scores, labels));
        expect(apErr).toBeLessThan(0.01);
        expect(aucErr).toBeLessThan(0.001);
        expect(apErr).toBeLessThanOrEqual(auprcBinningErrorBound(h) + 1e-12);
        expect(aucErr).toBeLessThanOrEqual(rocAucBinningErrorBound(h) + 1e-12);
      }
    });
  }

  it('the bounds hold on adversarial data: few bins, heavy ties, random orders', () => {
    const rng = createRng(99);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(60);
      const bins = 2 + rng.int(6);
      const scores = new Float32Array(n);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = rng.next() < 0.4 ? 1 : 0;
        // Coarse grid so that many exact ties occur too.
        scores[i] = rng.int(17) / 16;
      }
      const h = scoreHistogram(scores, labels, bins);
      expect(Math.abs(auprcFromHistogram(h) - auprcExact(scores, labels))).toBeLessThanOrEqual(
        auprcBinningErrorBound(h) + 1e-12,
      );
      expect(Math.abs(rocAucFromHistogram(h) - rocAucExact(scores, labels))).toBeLessThanOrEqual(
        rocAucBinningErrorBound(h) + 1e-12,
      );
    }
  });
});
