import { describe, expect, it } from 'vitest';
import {
  auprcExact,
  auprcFromHistogram,
  bestF1FromHistogram,
  binIndexOfLogit,
  confusionAt,
  emptyHistogram,
  logitHistogram,
  lowerEdgeLogit,
  globalMetrics,
  precisionRecallF1,
  recallAtFprFromHistogram,
  rocAucExact,
  rocAucFromHistogram,
  scoreHistogram,
  sumConfusions,
  packHistogram,
  sumHistograms,
  sumHistogramsPacked,
  type MetricsReport,
} from '../src/metrics/index.js';
import { createRng } from '../src/rng/index.js';
import { ScoreHistogram } from '../src/protocol/messages.js';

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

describe('score histograms (sigmoid+logit layout)', () => {
  it('bins logits in order, clamps beyond ±40 and ±Infinity into the end bins', () => {
    const B = 1000;
    expect(binIndexOfLogit(0, B)).toBe(B / 2);
    expect(binIndexOfLogit(-Infinity, B)).toBe(0);
    expect(binIndexOfLogit(-40, B)).toBe(0);
    expect(binIndexOfLogit(-1e6, B)).toBe(0);
    expect(binIndexOfLogit(Infinity, B)).toBe(B - 1);
    expect(binIndexOfLogit(1e6, B)).toBe(B - 1);
    expect(() => binIndexOfLogit(NaN, B)).toThrow(/NaN/);
    // Saturated float32 probabilities (all exactly 1) keep distinct bins by logit.
    const z = [18, 20, 25, 30, 39];
    expect(z.map((v) => Math.fround(1 / (1 + Math.exp(-v))))).toEqual([1, 1, 1, 1, 1]);
    expect(new Set(z.map((v) => binIndexOfLogit(v, B))).size).toBe(z.length);
    // Monotone: sorted logits give non-decreasing bins; no bin is wider than 4·40/B logits.
    const rng = createRng(3);
    const sorted = Array.from({ length: 20000 }, () => 30 * rng.normal()).sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) {
      expect(binIndexOfLogit(sorted[i]!, B)).toBeGreaterThanOrEqual(binIndexOfLogit(sorted[i - 1]!, B));
    }
    for (let k = 2; k < B; k++)
      expect(lowerEdgeLogit(k, B) - lowerEdgeLogit(k - 1, B)).toBeLessThanOrEqual(0.16 + 1e-9);
  });

  it('lowerEdgeLogit(k) is the first logit of bin k', () => {
    for (const B of [2, 10, 1000, 4096]) {
      expect(lowerEdgeLogit(0, B)).toBe(-Infinity);
      expect(lowerEdgeLogit(B, B)).toBe(Infinity);
      for (const k of [1, Math.floor(B / 3), B / 2, B - 1].filter((k) => Number.isInteger(k) && k >= 1 && k < B)) {
        const z = lowerEdgeLogit(k, B);
        expect(binIndexOfLogit(z, B)).toBe(k);
        expect(binIndexOfLogit(z - Math.abs(z) * 2 ** -52 - 2 ** -1074, B)).toBe(k - 1);
      }
    }
  });

  it('histograms probabilities by their logit, labels split, layout on the histogram', () => {
    const h = scoreHistogram(new Float32Array([0, 0.5, 0.5, 1, 0.999]), new Uint8Array([1, 0, 1, 1, 0]), 10);
    expect(h).toMatchObject({ scale: 'sigmoid+logit', logitMax: 40, bins: 10 });
    expect(h.positives).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(h.negatives).toEqual([0, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    expect(logitHistogram([-Infinity, 0, 0, Infinity, 6.9], [1, 0, 1, 1, 0], 10)).toEqual(h);
  });

  it('sums bin by bin and refuses mismatched bins or layouts', () => {
    const a = logitHistogram([-30, 30], [0, 1], 4);
    const b = logitHistogram([-0.5, 35], [1, 1], 4);
    expect(sumHistograms([a, b])).toEqual({ ...emptyHistogram(4), positives: [0, 1, 0, 2], negatives: [1, 0, 0, 0] });
    const c = logitHistogram([0.3], [1], 5);
    expect(() => sumHistograms([a, c])).toThrow(/5 bins, expected 4/);
    expect(() => sumHistograms([])).toThrow(/at least one/);
    expect(() => sumHistograms([{ ...emptyHistogram(4), positives: [0, 0, 0] }])).toThrow(/exactly 4/);
    const layout1 = { bins: 4, positives: [0, 0, 0, 1], negatives: [1, 0, 0, 0] } as unknown as ScoreHistogram;
    expect(() => sumHistograms([a, layout1])).toThrow(
      /no scale \(probability bins, layout 1\).*expected "sigmoid\+logit, L = 40"/,
    );
    expect(() => sumHistograms([a, { ...a, logitMax: 30 } as unknown as ScoreHistogram])).toThrow(/L = 30/);
  });

  it('sums and checks plain and packed (Float64Array) histograms alike, as the aggregator mixes them', () => {
    const rng = createRng(7);
    const list = Array.from({ length: 6 }, () =>
      logitHistogram(
        Array.from({ length: 300 }, () => (rng.next() - 0.5) * 90),
        Array.from({ length: 300 }, () => (rng.next() < 0.2 ? 1 : 0)),
        50,
      ),
    );
    const mixed = list.map((h, i) => (i % 2 === 0 ? packHistogram(h) : h));
    const packed = sumHistogramsPacked(mixed);
    expect(packed.positives).toBeInstanceOf(Float64Array);
    expect(Array.from(packed.positives)).toEqual(sumHistograms(list).positives);
    expect(Array.from(packed.negatives)).toEqual(sumHistograms(list).negatives);
    expect(sumHistograms(mixed)).toEqual(sumHistograms(list));
    expect(auprcFromHistogram(packed)).toBe(auprcFromHistogram(sumHistograms(list)));
    // A bad count is named by its bin in either kind of array.
    const bad = packHistogram(list[0]!);
    bad.negatives[17] = 2.5;
    expect(() => sumHistogramsPacked([list[1]!, bad])).toThrow(/bin 17 has non-count entries \(\d+, 2\.5\)/);
    const negative = { ...list[0]!, positives: [...list[0]!.positives] };
    negative.positives[3] = -1;
    expect(() => sumHistograms([negative])).toThrow(/bin 3 has non-count entries \(-1, \d+\)/);
  });

  it('the wire schema refuses another layout with a message naming it', () => {
    const ok = ScoreHistogram.safeParse(emptyHistogram(4));
    expect(ok.success).toBe(true);
    const old = ScoreHistogram.safeParse({ bins: 4, positives: [0, 0, 0, 0], negatives: [0, 0, 0, 0] });
    expect(old.success).toBe(false);
    expect(old.error!.issues[0]!.message).toMatch(
      /histogram scale is missing: expected the "sigmoid\+logit" layout.*different FinSecure versions/,
    );
    const narrow = ScoreHistogram.safeParse({ ...emptyHistogram(4), logitMax: 20 });
    expect(narrow.error!.issues[0]!.message).toMatch(/histogram logitMax is 20: expected 40/);
    expect(ScoreHistogram.safeParse({ ...emptyHistogram(4), positives: [1] }).success).toBe(false);
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
    const snapped = Array.from(scores, (s) => binIndexOfLogit(Math.log(s) - Math.log1p(-s), B));
    expect(auprcFromHistogram(h)).toBeCloseTo(auprcExact(snapped, labels), 12);
    expect(rocAucFromHistogram(h)).toBeCloseTo(rocAucExact(snapped, labels), 12);
  });

  it('bestF1 reproduces confusionAt at the chosen edge logit, and beats every other edge', () => {
    const rng = createRng(11);
    const n = 20000;
    const logits = new Float32Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.next() < 0.02 ? 1 : 0;
      logits[i] = (labels[i] ? 2 : -3) + 1.5 * rng.normal();
    }
    const h = logitHistogram(logits, labels, 1000);
    const best = bestF1FromHistogram(h);
    const direct = precisionRecallF1(confusionAt(logits, labels, best.logit));
    expect(best.precision).toBe(direct.precision);
    expect(best.recall).toBe(direct.recall);
    expect(best.f1).toBe(direct.f1);
    expect(best.threshold).toBeCloseTo(1 / (1 + Math.exp(-best.logit)), 15);
    for (const t of [-3, -1, 0, 1, 2, 4]) {
      expect(precisionRecallF1(confusionAt(logits, labels, t)).f1).toBeLessThanOrEqual(best.f1);
    }
    expect(bestF1FromHistogram(scoreHistogram([0.3], [0], 10))).toEqual({
      threshold: 1,
      logit: Infinity,
      precision: 0,
      recall: 0,
      f1: 0,
    });
  });

  it('recall at a false-positive rate', () => {
    // 10 bins; negatives at logit −30 ×90, 0 ×9, 30 ×1; positives at 30 ×2, 10 ×2, −10 ×1
    const scores = [...Array(90).fill(-30), ...Array(9).fill(0), 30, 30, 30, 10, 10, -10];
    const labels = [...Array(100).fill(0), 1, 1, 1, 1, 1];
    const h = logitHistogram(scores, labels, 10);
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
