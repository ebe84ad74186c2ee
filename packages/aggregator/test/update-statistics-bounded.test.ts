/**
 * The reputation statistics of a running-sum strategy (common/strategy/statistics.ts,
 * `withUpdateStatistics`) stay within a memory bound whatever the number of banks (issue 14):
 * exact while the round's updates fit the budget, CountSketch estimates beyond it. The estimates
 * are checked against the exact figures of the same updates.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '@finsecure/common/rng';
import { FedAvg, withUpdateStatistics, type AggregationOutcome } from '@finsecure/common/strategy';

const D = 50_000;
const BANKS = 12;

/** Banks share a direction, with bank-specific noise; bank-0 flips its sign, bank-1 is orthogonal-ish noise. */
function updates(): [string, Float32Array][] {
  const rng = createRng(7);
  const common = Float32Array.from({ length: D }, () => rng.normal());
  return Array.from({ length: BANKS }, (_, b) => {
    const d = Float32Array.from(common, (x) => (b === 1 ? 0 : x) + (b === 1 ? 1 : 0.5) * rng.normal());
    if (b === 0) for (let i = 0; i < D; i++) d[i] = -d[i]!;
    return [`bank-${b}`, d];
  });
}

function run(exactBytes: number | undefined): AggregationOutcome {
  const g = new Float32Array(D);
  const us = updates();
  const agg = withUpdateStatistics(
    new FedAvg().beginAggregation(
      { roundId: 1, global: g, config: {} as never, rng: createRng(1) },
      us.map(([bankId]) => ({ bankId, numExamples: 10 })),
    ),
    g,
    exactBytes === undefined ? {} : { exactBytes, buckets: 4096 },
  );
  for (const [bankId, delta] of us) agg.add({ bankId, delta, numExamples: 10, loss: 0.5 });
  return agg.finish();
}

describe('withUpdateStatistics under a memory bound', () => {
  it('is exact within the budget and estimates within a few standard errors beyond it', () => {
    const exact = run(undefined); // 12 × 200 KB: within the default 16 MB
    const sketched = run(D * 4 * 3); // room for 3 copies: switches to sketches at the 4th update
    expect(Object.keys(sketched.diagnostics!).sort()).toEqual(Object.keys(exact.diagnostics!).sort());
    expect(Array.from(sketched.weights)).toEqual(Array.from(exact.weights));
    for (const [id, e] of Object.entries(exact.diagnostics!)) {
      const s = sketched.diagnostics![id]!;
      // The norm is exact (float64 sum of squares of the same float32 values).
      expect(s.norm!).toBeCloseTo(e.norm!, 6);
      // Standard error √((1 + cos²) / k) ≤ 0.022 at k = 4,096: allow 5 of them.
      expect(Math.abs(s.cosine! - e.cosine!), id).toBeLessThan(0.11);
      expect(Math.abs(s.aggregateDistance! - e.aggregateDistance!) / e.aggregateDistance!, id).toBeLessThan(0.1);
    }
    // What reputation looks at survives: the sign flip points against the aggregate, the others with it.
    expect(sketched.diagnostics!['bank-0']!.cosine!).toBeLessThan(-0.5);
    for (let b = 2; b < BANKS; b++) expect(sketched.diagnostics![`bank-${b}`]!.cosine!).toBeGreaterThan(0.5);
  });
});
