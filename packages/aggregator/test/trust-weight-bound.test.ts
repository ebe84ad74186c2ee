import { describe, expect, it } from 'vitest';
import { boundRoundWeights, weightBound, type WeightBoundInput } from '../src/trust/index.js';

const honest: WeightBoundInput[] = [
  { bankId: 'a', claimed: 12_000, declared: 12_000 },
  { bankId: 'b', claimed: 8_000, declared: 8_000 },
  { bankId: 'c', claimed: 15_000, declared: 15_000 },
];
const mallory: WeightBoundInput = { bankId: 'mallory', claimed: 9e15, declared: 9e15 };

function shares(weights: { weight: number }[]): number[] {
  const total = weights.reduce((s, w) => s + w.weight, 0);
  return weights.map((w) => w.weight / total);
}

describe('weightBound', () => {
  it('bounds the 9e15 claim by 10 × the median of the other banks’ counts', () => {
    const w = weightBound(mallory, [12_000, 8_000, 15_000]);
    expect(w).toEqual({
      weight: 120_000,
      clamped: true,
      bound: 'consortium',
      reason:
        "bank mallory: claimed 9000000000000000 examples, weighted as 120000 (at most 10 × the median 12000 of the other 3 banks' counts)",
    });
  });

  it('keeps honest claims, and lowers an update claiming more than its hello declared', () => {
    expect(weightBound(honest[0]!, [8_000, 15_000, 9e15])).toEqual({
      weight: 12_000,
      clamped: false,
      reason: null,
      bound: 'none',
    });
    expect(weightBound({ bankId: 'b', claimed: 9_000, declared: 8_000 }, [12_000])).toMatchObject({
      weight: 8_000,
      bound: 'hello',
      reason: 'bank b: claimed 9000 examples, weighted as 8000 (its hello declared 8000)',
    });
  });

  it('a count registered by an admin is the bound, whatever the others declared', () => {
    expect(
      weightBound({ bankId: 'big', claimed: 500_000, declared: 500_000, registered: 500_000 }, [1000, 2000]),
    ).toMatchObject({
      weight: 500_000,
      clamped: false,
    });
    expect(weightBound({ bankId: 'big', claimed: 9e15, declared: 9e15, registered: 500_000 }, [1000])).toMatchObject({
      weight: 500_000,
      bound: 'registered',
    });
  });

  it('a bank alone has no consortium bound; bad numbers are programming errors', () => {
    expect(weightBound({ bankId: 'x', claimed: 77, declared: 77 }, [])).toMatchObject({ weight: 77, clamped: false });
    expect(() => weightBound({ bankId: 'x', claimed: -1, declared: 5 }, [])).toThrow(/bank x: claimed count -1/);
    expect(() => weightBound({ bankId: 'x', claimed: 1, declared: 5 }, [1], { maxExampleRatio: 0 })).toThrow(
      /maxExampleRatio/,
    );
  });
});

describe('boundRoundWeights', () => {
  it('the 9e15 example: honest banks keep their counts, the liar gets at most half the weight', () => {
    const w = boundRoundWeights([...honest, mallory], { maxShare: 0.5 });
    expect(w.slice(0, 3).map((x) => x.weight)).toEqual([12_000, 8_000, 15_000]);
    expect(w.slice(0, 3).every((x) => !x.clamped)).toBe(true);
    expect(w[3]).toMatchObject({ weight: 35_000, clamped: true, bound: 'share' });
    expect(shares(w)[3]).toBeCloseTo(0.5, 12);
    // Before: weight 1.0 for the liar, ~0 for every honest bank.
    expect(shares([...honest, mallory].map((b) => ({ weight: b.claimed })))[3]).toBeGreaterThan(0.999_999_99);
  });

  it('with two banks the liar is brought to equal weight', () => {
    const w = boundRoundWeights([{ bankId: 'a', claimed: 10_000, declared: 10_000 }, mallory], { maxShare: 0.5 });
    expect(w.map((x) => x.weight)).toEqual([10_000, 10_000]);
  });

  it('an honest consortium of moderately unequal banks is untouched', () => {
    const banks = [40_000, 25_000, 20_000, 9_000, 6_000].map((n, i) => ({ bankId: `b${i}`, claimed: n, declared: n }));
    expect(boundRoundWeights(banks).map((x) => x.weight)).toEqual([40_000, 25_000, 20_000, 9_000, 6_000]);
  });

  it('a registered dominant bank is exempt from the share cap; unregistered ones are capped around it', () => {
    const w = boundRoundWeights([
      { bankId: 'big', claimed: 80_000, declared: 80_000, registered: 80_000 },
      { bankId: 'small', claimed: 5_000, declared: 5_000 },
      { bankId: 'mid', claimed: 15_000, declared: 15_000 },
    ]);
    expect(w.map((x) => x.weight)).toEqual([80_000, 5_000, 15_000]);
    const capped = boundRoundWeights(
      [
        { bankId: 'r', claimed: 10_000, declared: 10_000, registered: 10_000 },
        { bankId: 'u1', claimed: 60_000, declared: 60_000 },
        { bankId: 'u2', claimed: 8_000, declared: 8_000 },
      ],
      { maxShare: 0.5 },
    );
    // u1 is capped so that it holds at most half: c = 0.5 × (10,000 + 8,000 + c) → 18,000.
    expect(capped.map((x) => x.weight)).toEqual([10_000, 18_000, 8_000]);
    expect(capped[1]!.reason).toMatch(/at most 0.5 of the round's total weight/);
  });

  it('maxShare 1 turns the share cap off (the ratio bound stays)', () => {
    const w = boundRoundWeights([...honest, mallory], { maxShare: 1 });
    expect(w[3]!.weight).toBe(120_000);
  });
});
