/**
 * LOF speed A/B (issue 18 item 5): the k-nearest-neighbour searches one LOF fit + scoring
 * makes (self-neighbours of the reference rows, then the query rows against them), timed
 * with the current `kNearest` and with the plain brute-force loop it replaced, on the same
 * data, interleaved (old, new, old, new, ...) so that load drifts hit both alike. The two
 * results are also compared: any difference in an index or a distance bit aborts the bench.
 */
import { kNearest, type Neighbours } from '@finsecure/common/anomaly';
import { median, num, type Row } from './lib.js';

/** The brute-force loop kNearest used before (a copy: the test keeps its own). */
export function bruteForceKNearest(
  refs: Float64Array,
  n: number,
  queries: Float64Array,
  m: number,
  d: number,
  k: number,
  excludeSelf: boolean,
): Neighbours {
  const index = new Int32Array(m * k);
  const distance = new Float64Array(m * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let a = 0; a < m; a++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    let worst = Infinity;
    const oa = a * d;
    for (let b = 0; b < n; b++) {
      if (excludeSelf && b === a) continue;
      const ob = b * d;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = queries[oa + j] - refs[ob + j];
        s += t * t;
        if (s > worst) break;
      }
      if (s >= worst) continue;
      let pos = k - 1;
      while (pos > 0 && bestD[pos - 1] > s) {
        bestD[pos] = bestD[pos - 1];
        bestI[pos] = bestI[pos - 1];
        pos--;
      }
      bestD[pos] = s;
      bestI[pos] = b;
      worst = bestD[k - 1];
    }
    for (let i = 0; i < k; i++) {
      index[a * k + i] = bestI[i];
      distance[a * k + i] = Math.sqrt(bestD[i]);
    }
  }
  return { k, index, distance };
}

type Search = typeof kNearest;

function sameNeighbours(x: Neighbours, y: Neighbours): boolean {
  if (x.index.length !== y.index.length) return false;
  for (let i = 0; i < x.index.length; i++) {
    if (x.index[i] !== y.index[i] || !Object.is(x.distance[i], y.distance[i])) return false;
  }
  return true;
}

export interface LofAbResult {
  runs: number;
  oldMs: number[];
  newMs: number[];
  speedup: number;
}

/**
 * Times fit + scoring searches (k neighbours, `rows` × `d` reference rows, scored against
 * themselves as the LOF target does) `runs` times per variant, interleaved, after one
 * untimed warm-up of each. Throws if the two variants disagree.
 */
export function lofKnnAb(x: Float64Array, rows: number, d: number, k: number, runs: number): LofAbResult {
  const once = (search: Search): [number, Neighbours, Neighbours] => {
    const t0 = performance.now();
    const fit = search(x, rows, x, rows, d, k, true);
    const score = search(x, rows, x, rows, d, k, false);
    return [performance.now() - t0, fit, score];
  };
  const [, oldFit, oldScore] = once(bruteForceKNearest);
  const [, newFit, newScore] = once(kNearest);
  if (!sameNeighbours(oldFit, newFit) || !sameNeighbours(oldScore, newScore)) {
    throw new Error('kNearest differs from the brute-force loop on the LOF bench data');
  }
  const oldMs: number[] = [];
  const newMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    oldMs.push(once(bruteForceKNearest)[0]);
    newMs.push(once(kNearest)[0]);
  }
  return { runs, oldMs, newMs, speedup: median(oldMs) / median(newMs) };
}

/** min / median / max in ms, for a table cell. */
export function spread(ms: number[]): string {
  return `${num(Math.min(...ms), 0)} / ${num(median(ms), 0)} / ${num(Math.max(...ms), 0)} ms`;
}

export function lofAbRows(ab: LofAbResult, label: string): Row[] {
  return [
    { search: `${label}, brute-force loop (before)`, 'min / median / max': spread(ab.oldMs), runs: ab.runs },
    {
      search: `${label}, kNearest (now)`,
      'min / median / max': `${spread(ab.newMs)} (${ab.speedup.toFixed(2)}× faster)`,
      runs: ab.runs,
    },
  ];
}
