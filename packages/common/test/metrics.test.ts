import { describe, expect, it } from 'vitest';
import {
  auprcExact,
  auprcFromHistogram,
  bestF1FromHistogram,
  confusionAt,
  globalMetrics,
  precisionRecallF1,
  recallAtFprFromHistogram,
  rocAucExact,
  rocAucFromHistogram,
  scoreHistogram,
  sumConfusions,
  sumHistograms,
  type MetricsReport,
} from '../src/metrics/index.js';
import { createRng } from '../src/rng/index.js';

describe('confusion', () => {
  it('predicts fraud when score >= threshold', () => {
    const scores = new Float32Array([0.9, 0.5, 0.49, 0.1, 0.7, 0.2]);
    const labels = new Uint8Array([1, 1, 1, 0, 0, 0]);
    expect(confusionAt(scores, labels)).toEqual({ tp: 2, fn: 1, fp: 1, tn: 2 });
    expect(confusionAt(scores, labels, 0.8)).toEqual({ tp: 1, fn: 2, fp: 0, tn: 3 });
  });

  it('rejects mismatched lengths, non-binary labels and NaN scores', () => {
    expect(() => confusionAt(new Float32Array(2), new Uint8Array(3))).toThrow(/length/);
    expect(() => confusionAt(new Float32Array(1), new Uint8Array([2]))).toThrow(/0 or 1/);
    expect(() => confusionAt(new Float32Array([NaN]), new Uint8Array([0]))).toThrow(/NaN/);
  });

  it('sums and derives precision / recall / F1, 0 when undefined', () => {
    const c = sumConfusions([
      { tp: 3, fp: 1, tn: 10, fn: 1 },
      { tp: 1, fp: 1, tn: 5, fn: 3 },
    ]);
    expect(c).toEqual({ tp: 4, fp: 2, tn: 15, fn: 4 });
    const m = precisionRecallF1(c);
    expect(m.precision).toBeCloseTo(4 / 6, 12);
    expect(m.recall).toBeCloseTo(0.5, 12);
    expect(m.f1).toBeCloseTo((2 * (4 / 6) * 0.5) / (4 / 6 + 0.5), 12);
    expect(precisionRecallF1({ tp: 0, fp: 0, tn: 9, fn: 0 })).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(precisionRecallF1({ tp: 0, fp: 3, tn: 9, fn: 2 })).toEqual({ precision: 0, recall: 0, f1: 0 });
  });
});

describe('score histograms', () => {
  it('bins [i/B, (i+1)/B), puts 1 in the last bin and clamps out-of-range scores', () => {
    const h = scoreHistogram(
      new Float32Array([0, 0.0999, 0.1, 0.55, 1, 1.5, -0.2]),
      new Uint8Array([1, 0, 1, 0, 1, 0, 0]),
      10,
    );
    expect(h.bins).toBe(10);
    expect(h.positives).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(h.negatives).toEqual([2, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('sums bin by bin and refuses mismatched bins', () => {
    const a = scoreHistogram(new Float32Array([0.1, 0.9]), new Uint8Array([0, 1]), 4);
    const b = scoreHistogram(new Float32Array([0.3, 0.8]), new Uint8Array([1, 1]), 4);
    expect(sumHistograms([a, b])).toEqual({ bins: 4, positives: [0, 1, 0, 2], negatives: [1, 0, 0, 0] });
    const c = scoreHistogram(new Float32Array([0.3]), new Uint8Array([1]), 5);
    expect(() => sumHistograms([a, c])).toThrow(/5 bins, expected 4/);
    expect(() => sumHistograms([])).toThrow(/at least one/);
    expect(() => sumHistograms([{ bins: 4, positives: [0, 0, 0], negatives: [0, 0, 0, 0] }])).toThrow(/exactly 4/);
  });
});

describe('exact metrics (sklearn definitions)', () => {
  it('matches the scikit-learn documentation example', () => {
    const scores = [0.1, 0.4, 0.35, 0.8];
    const labels = [0, 0, 1, 1];
    expect(auprcExact(scores, labels)).toBeCloseTo(0.8333333333333333, 12);
    expect(rocAucExact(scores, labels)).toBeCloseTo(0.75, 12);
  });

  it('treats tied scores as one threshold', () => {
    // thresholds 0.5 (tp 1, fp 1) and 0.2 (tp 2, fp 1): AP = ½·½ + ½·⅔; AUC = (½+1+0+1)/4
    const scores = [0.5, 0.5, 0.2, 0.1];
    const labels = [1, 0, 1, 0];
    expect(auprcExact(scores, labels)).toBeCloseTo(0.5 * 0.5 + 0.5 * (2 / 3), 12);
    expect(rocAucExact(scores, labels)).toBeCloseTo(0.625, 12);
  });

  it('reports 0 when undefined and 1 for a perfect ranking', () => {
    expect(auprcExact([0.2, 0.3], [0, 0])).toBe(0);
    expect(rocAucExact([0.2, 0.3], [1, 1])).toBe(0);
    expect(auprcExact([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
    expect(rocAucExact([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
  });
});

describe('metrics from histograms', () => {
  it('equal the exact metrics of the scores rounded down to their bin edge', () => {
    const rng = createRng(7);
    const n = 5000;
    const scores = new Float32Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.next() < 0.1 ? 1 : 0;
      scores[i] = 1 / (1 + Math.exp(-(labels[i] ? 1 : -1) - rng.normal()));
    }
    const B = 50;
    const h = scoreHistogram(scores, labels, B);
    const snapped = Array.from(scores, (s) => Math.floor(s * B) / B);
    expect(auprcFromHistogram(h)).toBeCloseTo(auprcExact(snapped, labels), 12);
    expect(rocAucFromHistogram(h)).toBeCloseTo(rocAucExact(snapped, labels), 12);
  });

  it('bestF1 reproduces confusionAt at the chosen edge, and beats every other edge', () => {
    const rng = createRng(11);
    const n = 20000;
    const scores = new Float32Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.next() < 0.02 ? 1 : 0;
      scores[i] = 1 / (1 + Math.exp(-(labels[i] ? 2 : -3) - 1.5 * rng.normal()));
    }
    const h = scoreHistogram(scores, labels, 1000);
    const best = bestF1FromHistogram(h);
    const direct = precisionRecallF1(confusionAt(scores, labels, best.threshold));
    expect(best.precision).toBe(direct.precision);
    expect(best.recall).toBe(direct.recall);
    expect(best.f1).toBe(direct.f1);
    for (const t of [0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
      expect(precisionRecallF1(confusionAt(scores, labels, t)).f1).toBeLessThanOrEqual(best.f1);
    }
    expect(bestF1FromHistogram(scoreHistogram([0.3], [0], 10))).toEqual({
      threshold: 1,
      precision: 0,
      recall: 0,
      f1: 0,
    });
  });

  it('recall at a false-positive rate', () => {
    // 10 bins; negatives at 0.05 ×90, 0.55 ×9, 0.95 ×1; positives at 0.95 ×2, 0.65 ×2, 0.25 ×1
    const scores = [...Array(90).fill(0.05), ...Array(9).fill(0.55), 0.95, 0.95, 0.95, 0.65, 0.65, 0.25];
    const labels = [...Array(100).fill(0), 1, 1, 1, 1, 1];
    const h = scoreHistogram(scores, labels, 10);
    expect(recallAtFprFromHistogram(h, 0)).toBe(0);
    expect(recallAtFprFromHistogram(h, 0.01)).toBeCloseTo(4 / 5, 12);
    expect(recallAtFprFromHistogram(h, 0.1)).toBeCloseTo(1, 12);
    expect(recallAtFprFromHistogram(h, 1)).toBe(1);
    expect(() => recallAtFprFromHistogram(h, 1.5)).toThrow(/maxFpr/);
  });
});

describe('globalMetrics', () => {
  function bank(seed: number, n: number, fraudRate: number, separation: number) {
    const rng = createRng(seed);
    const scores = new Float32Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.next() < fraudRate ? 1 : 0;
      scores[i] = 1 / (1 + Math.exp(-(labels[i] ? separation : -separation) - rng.normal()));
    }
    return { scores, labels };
  }

  it('uses summed counts: equals the pooled metric, differs from the mean of per-bank F1', () => {
    // A large bank the model serves well, and a small bank it serves badly.
    const big = bank(1, 20000, 0.05, 3);
    const small = bank(2, 300, 0.05, 0.2);
    const reports: MetricsReport[] = [
      {
        numExamples: 20000,
        confusion: confusionAt(big.scores, big.labels),
        histogram: scoreHistogram(big.scores, big.labels),
        loss: 0.1,
      },
      {
        numExamples: 300,
        confusion: confusionAt(small.scores, small.labels),
        histogram: scoreHistogram(small.scores, small.labels),
        loss: 0.6,
      },
    ];
    const g = globalMetrics(reports);

    const scores = new Float32Array([...big.scores, ...small.scores]);
    const labels = new Uint8Array([...big.labels, ...small.labels]);
    const pooled = precisionRecallF1(confusionAt(scores, labels));
    expect(g.f1).toBe(pooled.f1);
    expect(g.precision).toBe(pooled.precision);
    expect(g.recall).toBe(pooled.recall);
    expect(g.auprc).toBeCloseTo(auprcFromHistogram(scoreHistogram(scores, labels)), 12);
    expect(g.rocAuc).toBeCloseTo(rocAucFromHistogram(scoreHistogram(scores, labels)), 12);
    expect(g.tp + g.fp + g.tn + g.fn).toBe(20300);
    expect(g.numExamples).toBe(20300);
    expect(g.loss).toBeCloseTo((20000 * 0.1 + 300 * 0.6) / 20300, 12);

    const meanF1 = (precisionRecallF1(reports[0]!.confusion).f1 + precisionRecallF1(reports[1]!.confusion).f1) / 2;
    expect(Math.abs(meanF1 - g.f1)).toBeGreaterThan(0.1);
  });

  it('refuses an empty list and bad reports', () => {
    expect(() => globalMetrics([])).toThrow(/at least one/);
    const h = scoreHistogram([0.2], [0], 10);
    expect(() =>
      globalMetrics([{ numExamples: 1, confusion: { tp: 0, fp: 0, tn: 1, fn: 0 }, histogram: h, loss: NaN }]),
    ).toThrow(/loss/);
  });
});
