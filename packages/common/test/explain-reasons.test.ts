/** Reasons in words and chart bars from attributions (src/explain/reasons.ts). */
import { describe, expect, it } from 'vitest';
import { describeReasons } from '../src/explain/index.js';

const names = ['Time', 'V14', 'V3', 'Amount'];
const x = [2000, -5, 0.2, 812];
const scaler = { mean: [50000, 0, 0.2, 35.1], std: [20000, 1.25, 1, 185] };
const attributions = [0.5, -2.2, 0, 1.2];

describe('describeReasons', () => {
  it('ranks by |attribution| and says how far each value is from the mean and how it moves the score', () => {
    const r = describeReasons(attributions, names, x, scaler);
    expect(r.reasons.map((q) => q.text)).toEqual([
      "V14 is 4.0 standard deviations below this bank's mean (-5 vs 0); lowers the fraud score (-2.20 log-odds, 56% of the explanation)",
      "Amount is 4.2 standard deviations above this bank's mean (812 vs 35.1); raises the fraud score (+1.20 log-odds, 31% of the explanation)",
      "Time is 2.4 standard deviations below this bank's mean (2,000 vs 50,000); raises the fraud score (+0.50 log-odds, 13% of the explanation)",
    ]);
    expect(r.reasons[1]).toMatchObject({ feature: 'Amount', attribution: 1.2, value: 812, mean: 35.1, std: 185 });
    expect(r.reasons[1]!.z).toBeCloseTo((812 - 35.1) / 185, 12);
    expect(r.reasons[0]!.share).toBeCloseTo(2.2 / 3.9, 12);
    expect(r.text).toBe(r.reasons.map((q) => q.text).join('; '));
    // Bars: every non-zero attribution, largest first.
    expect(r.bars).toEqual([
      { feature: 'V14', attribution: -2.2 },
      { feature: 'Amount', attribution: 1.2 },
      { feature: 'Time', attribution: 0.5 },
    ]);
  });

  it('keeps only what raised the score when asked, with display names, top and population', () => {
    const r = describeReasons(attributions, names, x, scaler, {
      direction: 'raising',
      top: 1,
      labels: { Amount: 'Transaction amount' },
      population: 'the consortium',
    });
    expect(r.reasons).toHaveLength(1);
    expect(r.reasons[0]!.text).toMatch(/^Transaction amount is 4\.2 standard deviations above the consortium mean/);
    expect(
      describeReasons(attributions, names, x, scaler, { direction: 'lowering' }).reasons.map((q) => q.feature),
    ).toEqual(['V14']);
    expect(describeReasons(attributions, names, x, scaler, { bars: 1 }).bars).toHaveLength(1);
  });

  it('words a value at the mean and exactly one standard deviation, and breaks ties by feature order', () => {
    const r = describeReasons([0.3, 0.3, 0, 0], names, [50000, 1.25, 0, 0], scaler, { top: 4 });
    expect(r.reasons.map((q) => q.feature)).toEqual(['Time', 'V14']);
    expect(r.reasons[0]!.text).toMatch(/^Time is at this bank's mean \(50,000 vs 50,000\); raises/);
    expect(r.reasons[1]!.text).toMatch(/^V14 is 1\.0 standard deviation above/);
  });

  it('refuses mismatched lengths, non-finite input and a zero std', () => {
    expect(() => describeReasons([1, 2], names, x, scaler)).toThrow(/2 attributions but 4 feature names/);
    expect(() => describeReasons([1, NaN, 0, 0], names, x, scaler)).toThrow(/attribution of V14 is NaN/);
    expect(() => describeReasons(attributions, names, x, { mean: scaler.mean, std: [1, 0, 1, 1] })).toThrow(
      /std of V14 is 0/,
    );
    expect(() => describeReasons(attributions, names, x, scaler, { top: -1 })).toThrow(/top must be/);
  });
});
