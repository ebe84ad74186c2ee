/**
 * How much AUPRC / ROC AUC lose by being computed from 1000-bin histograms (the
 * sigmoid+logit layout, metrics/layout.ts) instead of raw scores, on score distributions
 * like a fraud model's: heavily imbalanced, fraud pushed towards 1, legitimate traffic
 * piled up near 0, some saturation; and on a small held-out set whose float32
 * probabilities are saturated at exactly 0 and 1 (the case that made layout 1 report
 * 0.78 for an exact 0.90). "Exact" ranks by the model's logits.
 */
import { describe, expect, it } from 'vitest';
import {
  auprcBinningErrorBound,
  auprcExact,
  auprcFromHistogram,
  rocAucBinningErrorBound,
  rocAucExact,
  rocAucFromHistogram,
  logitHistogram,
  scoreHistogram,
} from '../src/metrics/index.js';
import type { ScoreHistogram } from '../src/protocol/messages.js';
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

/** Float32 logits, as the model computes them. */
function draw(s: Scenario, seed: number, n: number) {
  const rng = createRng(seed);
  const logits = new Float32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const fraud = rng.next() < s.fraudRate;
    labels[i] = fraud ? 1 : 0;
    logits[i] = fraud ? s.pos(rng) : s.neg(rng);
  }
  return { logits, labels };
}

describe('binning error with 1000 bins', () => {
  for (const s of scenarios) {
    it(`${s.name}: AUPRC error < 0.01, ROC AUC error < 0.001, both within the computed bounds`, () => {
      for (const seed of [1, 2, 3]) {
        const { logits, labels } = draw(s, seed, 100_000);
        const h = logitHistogram(logits, labels, 1000);
        const apErr = Math.abs(auprcFromHistogram(h) - auprcExact(logits, labels));
        const aucErr = Math.abs(rocAucFromHistogram(h) - rocAucExact(logits, labels));
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

/** Layout 1, for comparison: 1000 equal-width bins over the float32 probability. */
function probabilityBins(probabilities: Float32Array, labels: Uint8Array, bins: number): ScoreHistogram {
  const h = {
    scale: 'sigmoid+logit' as const,
    logitMax: 40 as const,
    bins,
    positives: new Array<number>(bins).fill(0),
    negatives: new Array<number>(bins).fill(0),
  };
  probabilities.forEach((p, i) => {
    const b = Math.min(bins - 1, Math.floor(p * bins));
    if (labels[i] === 1) h.positives[b]++;
    else h.negatives[b]++;
  });
  return h;
}

/**
 * A held-out set like the Kaggle-layout subset of the issue: 19 frauds among 20,000
 * transactions, a confident model. 13 frauds and 4 legitimate transactions have logits
 * above 17.4, where float32 σ(z) is exactly 1; 600 legitimate ones are below −104, where
 * it is exactly 0. Logits are distinct, so the model does rank them.
 */
function saturatedHoldout(seed: number, legitAboveFrauds: boolean) {
  const rng = createRng(seed);
  const logits: number[] = [];
  const labels: number[] = [];
  const add = (z: number, y: number) => {
    logits.push(Math.fround(z));
    labels.push(y);
  };
  for (let i = 0; i < 13; i++) add(18 + 20 * rng.next(), 1); // saturated frauds
  for (let i = 0; i < 4; i++) add(8 + 6 * rng.next(), 1); // confident frauds, p in (0.9997, 1)
  add(-2, 1); // two missed frauds
  add(-9, 1);
  // Legitimate: 4 saturated (interleaved with the frauds, or just below them), 5 confident.
  for (let i = 0; i < 4; i++) add(legitAboveFrauds ? 18 + 20 * rng.next() : 7 + rng.next(), 0);
  for (let i = 0; i < 5; i++) add(7 + rng.next(), 0);
  for (let i = 0; i < 600; i++) add(-105 - 50 * rng.next(), 0); // σ = exactly 0 in float32
  while (labels.length < 20_000) add(-12 + 4 * rng.normal(), 0);
  return { logits: Float32Array.from(logits), labels: Uint8Array.from(labels) };
}

describe('saturated scores: 19 frauds, probabilities exactly 0 and 1 in float32', () => {
  it('the logit layout resolves them: AUPRC within the computed bound, the bound below 0.01', () => {
    const rows: string[] = [];
    for (const interleaved of [true, false]) {
      for (const seed of [1, 2, 3, 4, 5]) {
        const { logits, labels } = saturatedHoldout(seed, interleaved);
        const probabilities = Float32Array.from(logits, (z) => sigmoid(z));
        expect(probabilities.filter((p) => p === 1).length).toBeGreaterThanOrEqual(13);
        expect(probabilities.filter((p) => p === 0).length).toBeGreaterThanOrEqual(600);

        const exact = auprcExact(logits, labels);
        const h = logitHistogram(logits, labels, 1000);
        const err = Math.abs(auprcFromHistogram(h) - exact);
        const bound = auprcBinningErrorBound(h);
        expect(err).toBeLessThanOrEqual(bound + 1e-12);
        expect(bound).toBeLessThan(0.01);
        expect(Math.abs(rocAucFromHistogram(h) - rocAucExact(logits, labels))).toBeLessThanOrEqual(
          rocAucBinningErrorBound(h) + 1e-12,
        );

        // Layout 1 (probability bins) on the same scores: the top bin [0.999, 1] holds
        // 17 frauds and 9 legitimate transactions, and the error is an order larger.
        const old = Math.abs(auprcFromHistogram(probabilityBins(probabilities, labels, 1000)) - exact);
        expect(old).toBeGreaterThan(0.05);
        expect(old).toBeGreaterThan(10 * err);
        rows.push(
          `${interleaved ? 'interleaved' : 'separated'} seed ${seed}: exact ${exact.toFixed(4)} logit-bins err ${err.toExponential(1)} bound ${bound.toExponential(1)} | probability-bins err ${old.toFixed(3)}`,
        );
      }
    }
    if (process.env.FINSECURE_PRINT_BINNING) console.log(rows.join('\n'));
  });

  it('a perfect ranking whose legitimate scores reach the top probability bin gets exactly 1.000', () => {
    const { logits, labels } = saturatedHoldout(7, false);
    // Make it perfect: the two missed frauds move to the top.
    logits[17] = 30;
    logits[18] = 31;
    expect(auprcExact(logits, labels)).toBeCloseTo(1, 12);
    const h = logitHistogram(logits, labels, 1000);
    expect(auprcFromHistogram(h)).toBeCloseTo(1, 12);
    expect(auprcBinningErrorBound(h)).toBeLessThan(1e-12);
    const probabilities = Float32Array.from(logits, (z) => sigmoid(z));
    expect(auprcFromHistogram(probabilityBins(probabilities, labels, 1000))).toBeLessThan(0.95);
  });
});
