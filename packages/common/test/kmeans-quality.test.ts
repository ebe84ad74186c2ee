/**
 * k-means quality against scikit-learn. The reference values were printed by
 * packages/common/docs/kmeans-reference.py (scikit-learn 1.9.1) on the deterministic data
 * set regenerated here with the same Lehmer generator and formula.
 */
import { describe, expect, it } from 'vitest';
import {
  coarseHistogram,
  federatedKMeans,
  histogramInit,
  inertia,
  kmeansPlusPlus,
  lloyd,
  noiseHistogram,
  type Centres,
  type Points,
} from '@finsecure/common/kmeans';
import { createRng } from '@finsecure/common/rng';

const REF = {
  firstPoint: [-0.001443624683396738, -0.37338228336227236, -0.04392457261864315],
  sumAll: 3566.435997865785,
  kmeansppInertia: 663.139187076109, // KMeans(5, k-means++, n_init=10, random_state=0)
  fixedInitInertia: 663.139187076109, // Lloyd from FIXED_INIT, tol=0
  fixedInitCentres: [
    [-0.038456676581262395, -0.01910288343026889, 0.020678946762585193],
    [3.953137298160372, 3.9562792719829205, -0.005417766773050836],
    [-0.00839799120580409, 3.9768701183377027, 4.010806533904871],
    [3.915467062206737, -0.09899958167860046, 4.008056648911844],
    [1.9960181180442491, 1.9637445064666181, 2.0307173554484486],
  ],
};
const FIXED_INIT = [
  [0.5, 0.5, 0.5],
  [3, 3, 1],
  [1, 3, 3],
  [3, 1, 3],
  [2, 2.5, 2],
];

/** The same data as generate() in kmeans-reference.py. */
function referenceData(): Points {
  const M = 2147483647;
  let x = 20181;
  const u = () => (x = (48271 * x) % M) / M;
  const C = [
    [0, 0, 0],
    [4, 4, 0],
    [0, 4, 4],
    [4, 0, 4],
    [2, 2, 2],
  ];
  const S = [0.6, 1.0, 0.8, 1.2, 1.5];
  const data = new Float64Array(600 * 3);
  for (let i = 0; i < 600; i++)
    for (let t = 0; t < 3; t++) {
      const s = u() + u() + u() + u() - 2.0;
      data[i * 3 + t] = C[i % 5]![t]! + S[i % 5]! * s;
    }
  return { data, n: 600, d: 3 };
}

const fixed = (rows: number[][]): Centres => ({ data: Float64Array.from(rows.flat()), k: rows.length, d: 3 });

describe('k-means against scikit-learn', () => {
  const p = referenceData();

  it('regenerates the reference data exactly', () => {
    for (let t = 0; t < 3; t++) expect(p.data[t]).toBeCloseTo(REF.firstPoint[t]!, 14);
    expect(p.data.reduce((a, b) => a + b, 0)).toBeCloseTo(REF.sumAll, 9);
  });

  it('Lloyd from the same initial centres reaches the same centres and inertia (1e-9)', () => {
    const r = lloyd(p, fixed(FIXED_INIT), { tol: 0 });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.inertia - REF.fixedInitInertia) / REF.fixedInitInertia).toBeLessThan(1e-9);
    const flat = REF.fixedInitCentres.flat();
    for (let i = 0; i < flat.length; i++) expect(Math.abs(r.centres.data[i]! - flat[i]!)).toBeLessThan(1e-9);
  });

  it('federated k-means over 4 banks from k-means++ (best of 10 seeds) is within 2 % of sklearn', () => {
    const banks: Points[] = [0, 1, 2, 3].map((b) => {
      const rows = Array.from({ length: p.n }, (_, i) => i).filter((i) => i % 4 === b);
      return {
        data: Float64Array.from(rows.flatMap((i) => Array.from(p.data.subarray(i * 3, i * 3 + 3)))),
        n: rows.length,
        d: 3,
      };
    });
    let best = Infinity;
    for (let seed = 0; seed < 10; seed++) {
      const r = federatedKMeans(banks, kmeansPlusPlus(p, 5, createRng(seed)), { tol: 1e-12 });
      best = Math.min(best, inertia(p, r.centres));
    }
    expect(best / REF.kmeansppInertia).toBeLessThan(1.02);
    expect(best / REF.kmeansppInertia).toBeGreaterThan(0.98);
  });

  it('from the noised coarse histogram (z = 1), one run is within 2 % of sklearn', () => {
    const grid = { box: { lo: [-3, -3, -3], hi: [7, 7, 7] }, bins: 10 };
    const h = noiseHistogram(coarseHistogram(p, grid), 1, createRng(4));
    const r = federatedKMeans([p], histogramInit(h, grid, 5, createRng(5)), { tol: 1e-12 });
    expect(inertia(p, r.centres) / REF.kmeansppInertia).toBeLessThan(1.02);
  });
});
