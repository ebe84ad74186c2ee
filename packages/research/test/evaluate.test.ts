/** The exact evaluation shared by the three arms agrees with brute force. */
import { describe, expect, it } from 'vitest';
import { createRng } from '@finsecure/common/rng';
import { metricsFromScores, sweepMetrics } from '../src/evaluate.js';

function bruteForce(scores: Float32Array, labels: Uint8Array) {
  let best = 0;
  let recallAt = 0;
  const P = labels.reduce((s, y) => s + y, 0);
  const N = labels.length - P;
  for (const t of new Set(scores)) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i]! < t) continue;
      if (labels[i]) tp++;
      else fp++;
    }
    const p = tp / (tp + fp);
    const r = tp / P;
    best = Math.max(best, p + r > 0 ? (2 * p * r) / (p + r) : 0);
    if (fp / N <= 0.01) recallAt = Math.max(recallAt, r);
  }
  return { best, recallAt };
}

describe('evaluation', () => {
  it('finds the best-F1 threshold and recall at 1 % FPR exactly, ties included', () => {
    const rng = createRng(3);
    const n = 2000;
    const labels = Uint8Array.from({ length: n }, () => (rng.next() < 0.1 ? 1 : 0));
    // Rounded scores: many ties.
    const scores = Float32Array.from(
      labels,
      (y) => Math.round((y ? 0.3 + 0.7 * rng.next() : 0.6 * rng.next()) * 50) / 50,
    );
    const s = sweepMetrics(scores, labels, 0.01);
    const b = bruteForce(scores, labels);
    expect(s.bestF1.f1).toBeCloseTo(b.best, 12);
    expect(s.recallAtFpr).toBeCloseTo(b.recallAt, 12);
    const m = metricsFromScores(scores, labels);
    expect(m.tp + m.fn).toBe(m.frauds);
    expect(m.examples).toBe(n);
    expect(m.auprc).toBeGreaterThan(0.5);
    expect(m.rocAuc).toBeGreaterThan(0.8);
  });
});
