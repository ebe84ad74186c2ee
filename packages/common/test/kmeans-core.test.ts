/** Federated k-means core: sufficient statistics, merge, update, empty clusters, DP release, bad input. */
import { describe, expect, it } from 'vitest';
import { RdpAccountant } from '@finsecure/common/dp';
import {
  bankStatistics,
  cellCentres,
  clipRows,
  coarseHistogram,
  federatedKMeans,
  hasConverged,
  histogramInit,
  kmeansPlusPlus,
  lloyd,
  lloydStatistics,
  mergeStatistics,
  noiseHistogram,
  privatizeStatistics,
  statisticsSigma,
  updateCentres,
  validateK,
  type Centres,
  type Points,
} from '@finsecure/common/kmeans';
import { createRng } from '@finsecure/common/rng';

/** n points in d dims from 4 Gaussian blobs with different spreads. */
function blobs(n: number, d: number, seed: number): Points {
  const rng = createRng(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = rng.int(4);
    for (let t = 0; t < d; t++)
      data[i * d + t] = c * 3 * ((t % 2) * 2 - 1) + (c === t ? 2 : 0) + (0.5 + c * 0.3) * rng.normal();
  }
  return { data, n, d };
}

/** Splits rows into shards of uneven sizes (contiguous). */
function shard(p: Points, fractions: number[]): Points[] {
  const out: Points[] = [];
  let start = 0;
  fractions.forEach((f, i) => {
    const end = i === fractions.length - 1 ? p.n : start + Math.round(f * p.n);
    out.push({ data: p.data.slice(start * p.d, end * p.d), n: end - start, d: p.d });
    start = end;
  });
  return out;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('federated Lloyd equals centralised Lloyd (no noise)', () => {
  it.each([3, 4, 5])('over %i shards, within 1e-9, from the same initial centres', (banks) => {
    const p = blobs(2000, 4, banks);
    const init = kmeansPlusPlus(p, 6, createRng(7));
    const central = lloyd(p, init, { maxIterations: 200, tol: 1e-12 });
    const fractions = Array.from({ length: banks }, (_, i) => (i + 1) / ((banks * (banks + 1)) / 2));
    const fed = federatedKMeans(shard(p, fractions), init, { maxRounds: 200, tol: 1e-12 });
    expect(central.converged).toBe(true);
    expect(fed.converged).toBe(true);
    expect(fed.rounds.length).toBe(central.iterations);
    expect(maxAbsDiff(fed.centres.data, central.centres.data)).toBeLessThan(1e-9);
    // The released sizes of the last round are the true cluster sizes.
    const sizes = lloydStatistics(p, fed.centres).counts;
    expect(Array.from(fed.counts)).toEqual(Array.from(sizes));
  });

  it('one step: merged shard statistics are the statistics of the union', () => {
    const p = blobs(500, 3, 11);
    const c = kmeansPlusPlus(p, 4, createRng(1));
    const whole = lloydStatistics(p, c);
    const merged = mergeStatistics(shard(p, [0.2, 0.5, 0.3]).map((s) => lloydStatistics(s, c)));
    expect(maxAbsDiff(merged.sums, whole.sums)).toBeLessThan(1e-9);
    expect(Array.from(merged.counts)).toEqual(Array.from(whole.counts));
    expect(merged.counts.reduce((a, b) => a + b, 0)).toBe(500);
  });
});

describe('empty clusters and convergence', () => {
  it('an empty cluster keeps its previous centre and is reported', () => {
    const p: Points = { data: Float64Array.from([0, 0, 1, 0, 0, 1, 10, 10]), n: 4, d: 2 };
    const c: Centres = { data: Float64Array.from([0, 0, 10, 10, 1000, 1000]), k: 3, d: 2 };
    const up = updateCentres(c, lloydStatistics(p, c));
    expect(up.empty).toEqual([2]);
    expect(Array.from(up.centres.data.subarray(4))).toEqual([1000, 1000]);
    expect(Array.from(up.centres.data.subarray(0, 2))).toEqual([1 / 3, 1 / 3]);
    // and the federated loop goes on without crashing
    const r = federatedKMeans([p], c, { maxRounds: 10 });
    expect(r.converged).toBe(true);
    expect(r.rounds[0]!.empty).toEqual([2]);
  });

  it('hasConverged compares the total squared shift with tol', () => {
    const a: Centres = { data: Float64Array.from([0, 0]), k: 1, d: 2 };
    const b: Centres = { data: Float64Array.from([0.001, 0]), k: 1, d: 2 };
    expect(hasConverged(a, b, 1e-6)).toBe(true);
    expect(hasConverged(a, b, 1e-7)).toBe(false);
  });

  it('stops at the round budget when not converged', () => {
    const p = blobs(300, 2, 3);
    const r = federatedKMeans([p], kmeansPlusPlus(p, 5, createRng(2)), { maxRounds: 1, tol: 0 });
    expect(r.rounds.length).toBe(1);
    expect(r.converged).toBe(false);
  });
});

describe('bad input', () => {
  it('k larger than the number of customers is a clear error', () => {
    expect(() => validateK(10, 7)).toThrow(/k = 10 segments is larger than the number of customers \(7\)/);
    expect(() => validateK(0, 7)).toThrow(/positive integer/);
    expect(() => kmeansPlusPlus(blobs(3, 2, 1), 5, createRng(1))).toThrow(/larger than the number of points/);
  });

  it('a bank with too few customers declines with a reason; the others carry the round', () => {
    const p = blobs(600, 2, 5);
    const [big1, big2, small] = shard(p, [0.5, 0.49, 0.01]);
    expect(small!.n).toBeLessThan(20);
    const a = bankStatistics(small!, kmeansPlusPlus(p, 3, createRng(1)), { minCustomers: 20, bank: 'bank-c' });
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.reason).toMatch(/bank bank-c has \d customers, fewer than the minimum of 20/);
    const r = federatedKMeans([big1!, big2!, small!], kmeansPlusPlus(p, 3, createRng(1)), {
      minCustomers: 20,
      bankNames: ['a', 'b', 'c'],
    });
    expect(r.rounds[0]!.answered).toBe(2);
    expect(r.rounds[0]!.declined).toEqual([{ bank: 'c', reason: expect.stringMatching(/fewer than the minimum/) }]);
  });

  it('a round where every bank declines fails with every reason, not a crash', () => {
    const p = blobs(10, 2, 5);
    expect(() =>
      federatedKMeans(shard(p, [0.5, 0.5]), kmeansPlusPlus(p, 2, createRng(1)), { minCustomers: 100 }),
    ).toThrow(/round 1: no bank released statistics \(bank bank-0 has 5 customers.*; bank bank-1 has 5/);
  });

  it('mismatched shapes are rejected', () => {
    const s = lloydStatistics(blobs(10, 2, 1), { data: new Float64Array(4), k: 2, d: 2 });
    const t = lloydStatistics(blobs(10, 2, 1), { data: new Float64Array(6), k: 3, d: 2 });
    expect(() => mergeStatistics([s, t])).toThrow(/cannot be merged/);
    expect(() => lloydStatistics(blobs(10, 3, 1), { data: new Float64Array(4), k: 2, d: 2 })).toThrow(/3 features/);
  });
});

describe('differential privacy of the released statistics', () => {
  it('clipRows bounds every row norm by C and leaves short rows alone', () => {
    const p: Points = { data: Float64Array.from([3, 4, 0.3, 0.4]), n: 2, d: 2 };
    const c = clipRows(p, 1);
    expect(Math.hypot(c.data[0]!, c.data[1]!)).toBeCloseTo(1, 12);
    expect(Array.from(c.data.subarray(2))).toEqual([0.3, 0.4]);
  });

  it('noise on sums and counts has standard deviation z·√(C²+1) (empirical, seeded)', () => {
    const priv = { clip: 2, noiseMultiplier: 1.5 };
    const sigma = statisticsSigma(priv);
    expect(sigma).toBeCloseTo(1.5 * Math.sqrt(5), 12);
    const zero = { k: 50, d: 20, sums: new Float64Array(1000), counts: new Float64Array(50) };
    const rng = createRng(3);
    let ss = 0;
    let m = 0;
    let n = 0;
    for (let r = 0; r < 40; r++) {
      const s = privatizeStatistics(zero, priv, rng);
      for (const v of [...s.sums, ...s.counts]) {
        ss += v * v;
        m += v;
        n++;
      }
    }
    expect(Math.abs(m / n)).toBeLessThan(0.05 * sigma);
    expect(Math.sqrt(ss / n) / sigma).toBeGreaterThan(0.98);
    expect(Math.sqrt(ss / n) / sigma).toBeLessThan(1.02);
  });

  it('the DP run is accounted with the RDP accountant: one Gaussian release per round', () => {
    const p = blobs(3000, 3, 8);
    const acc = new RdpAccountant();
    const priv = { clip: 6, noiseMultiplier: 2 };
    const r = federatedKMeans(shard(p, [0.4, 0.3, 0.3]), kmeansPlusPlus(p, 4, createRng(1)), {
      privacy: priv,
      rng: createRng(9),
      maxRounds: 8,
      tol: 0,
      accountant: acc,
    });
    expect(r.rounds.length).toBe(8);
    expect(acc.releases).toBe(8);
    expect(acc.epsilon(1e-5).epsilon).toBeCloseTo(new RdpAccountant().addGaussian(2, 8).epsilon(1e-5).epsilon, 12);
    // Noised counts are close to the real sizes (σ ≈ 12 per bank, 3 banks).
    const total = r.counts.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - 3000)).toBeLessThan(150);
    // and every centre lies in the ball of radius C where the clipped points are
    for (let j = 0; j < 4; j++)
      expect(Math.hypot(...r.centres.data.subarray(j * 3, j * 3 + 3))).toBeLessThanOrEqual(6 + 1e-9);
  });
});

describe('k-means++ on a noised coarse histogram (initialisation that reveals no customer)', () => {
  const grid = { box: { lo: [-10, -10], hi: [10, 10] }, bins: 8 };

  it('the histogram counts every customer once, and one more customer changes one cell by one', () => {
    const p = blobs(400, 2, 4);
    const h = coarseHistogram(p, grid);
    expect(h.reduce((a, b) => a + b, 0)).toBe(400);
    const plus: Points = { data: Float64Array.from([...p.data, 0.3, -0.2]), n: 401, d: 2 };
    const h2 = coarseHistogram(plus, grid);
    const diff = h2.map((v, i) => v - h[i]!);
    expect(diff.reduce((a, b) => a + Math.abs(b), 0)).toBe(1);
  });

  it('initial centres come from grid cells, not from customer rows, and are good starts', () => {
    const p = blobs(2000, 2, 6);
    const h = noiseHistogram(coarseHistogram(p, grid), 1, createRng(2));
    const init = histogramInit(h, grid, 4, createRng(3), 0);
    const cells = cellCentres(grid);
    for (let j = 0; j < 4; j++) {
      const c = init.data.subarray(j * 2, j * 2 + 2);
      const isCell = Array.from({ length: cells.n }).some(
        (_, i) => cells.data[i * 2] === c[0] && cells.data[i * 2 + 1] === c[1],
      );
      expect(isCell).toBe(true);
    }
    const fromHist = lloyd(p, histogramInit(h, grid, 4, createRng(3)));
    const fromData = lloyd(p, kmeansPlusPlus(p, 4, createRng(3)));
    expect(fromHist.inertia).toBeLessThan(fromData.inertia * 1.05);
  });

  it('k larger than the occupied cells is a clear error', () => {
    const p: Points = { data: Float64Array.from([0, 0, 0.1, 0.1, 5, 5]), n: 3, d: 2 };
    expect(() => histogramInit(coarseHistogram(p, grid), grid, 3, createRng(1))).toThrow(
      /k = 3 is larger than the number of occupied grid cells \(2\)/,
    );
  });
});
