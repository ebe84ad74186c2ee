/**
 * `kmeans`: federated customer segmentation on the handbook customers (all April 2018
 * customers pooled, /work/shared/datasets/handbook-2018-04.csv.gz or FINSECURE_HANDBOOK),
 * against scikit-learn's KMeans on the same scaled features.
 *
 * Features per customer (packages/common/src/kmeans/features.ts): mean and total amount,
 * transactions per day, night share, weekend share, distinct terminals; standardised with
 * the moments merged over 3 banks (customers split by id mod 3: each bank holds its own
 * customers). scikit-learn runs through packages/common/docs/kmeans-reference.py --csv
 * (KMeans, k-means++, n_init 10, random_state 0) on exactly these scaled points.
 *
 * Without noise: federated Lloyd from (a) k-means++ on the pooled rows (best of 10 seeds;
 * a reference only, it reveals customers), (b) k-means++ on a noised coarse histogram
 * (what the federation would use), (c) uniform in the public box.
 * With DP: for each ε target (δ = 1e-5, per bank and so per customer), the noise
 * multiplier z that makes one histogram release plus R Lloyd rounds cost exactly ε under
 * the RDP accountant; inertia (on the unclipped scaled points) and the released segment
 * sizes, median over seeds.
 *
 * Not a test: the shared data is absent on a fresh clone, and then this benchmark says so and skips.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RdpAccountant } from '@finsecure/common/dp';
import {
  coarseHistogram,
  customerFeaturesFromCsv,
  federatedKMeans,
  histogramInit,
  inertia,
  kmeansPlusPlus,
  lloydStatistics,
  mergeMomentsChan,
  momentsOf,
  noiseHistogram,
  scalePoints,
  scalingOf,
  uniformInit,
  type Centres,
  type Points,
  type PublicBox,
} from '@finsecure/common/kmeans';
import { createRng } from '@finsecure/common/rng';
import {
  BENCH_DIR,
  median,
  num,
  target,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
} from './lib.js';

const HANDBOOK =
  process.env.FINSECURE_HANDBOOK ?? path.resolve(BENCH_DIR, '../../shared/datasets/handbook-2018-04.csv.gz');
const SCRIPT = path.resolve(BENCH_DIR, '../packages/common/docs/kmeans-reference.py');
const K = 5;
const BANKS = 3;
const DELTA = 1e-5;
const ROUNDS_DP = 10;
const CLIP = 4; // L2 bound of a customer's scaled 6-feature vector
const BOX: PublicBox = { lo: Array(6).fill(-3), hi: Array(6).fill(3) };
const GRID = { box: BOX, bins: 4 };

function sklearn(p: Points, ctx: BenchContext): { inertia: number; sizes: number[] } | string {
  const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-kmeans-'));
  try {
    const csv = path.join(dir, 'points.csv');
    const lines: string[] = [];
    for (let i = 0; i < p.n; i++)
      lines.push(Array.from(p.data.subarray(i * p.d, (i + 1) * p.d), (v) => v.toPrecision(17)).join(','));
    writeFileSync(csv, lines.join('\n') + '\n');
    ctx.log('running scikit-learn KMeans');
    const r = spawnSync('python3', [SCRIPT, '--csv', csv, '--k', String(K)], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0)
      return `python3 ${path.basename(SCRIPT)} failed: ${(r.stderr || r.error?.message || '').trim().slice(0, 300)}`;
    return JSON.parse(r.stdout) as { inertia: number; sizes: number[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Noise multiplier z such that (1 + rounds) Gaussian releases at z cost ε at δ (bisection on the accountant). */
function multiplierFor(epsilon: number, releases: number): number {
  let lo = 0.05;
  let hi = 500;
  for (let i = 0; i < 60; i++) {
    const mid = Math.sqrt(lo * hi);
    const e = new RdpAccountant().addGaussian(mid, releases).epsilon(DELTA).epsilon;
    if (e > epsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}

function sizesOf(p: Points, c: Centres): number[] {
  return Array.from(lloydStatistics(p, c).counts).sort((a, b) => b - a);
}

export const kmeans: Benchmark = {
  name: 'kmeans',
  title: 'Federated k-means segmentation of the handbook customers',
  description: 'federated k-means on handbook customers vs scikit-learn; inertia and segment sizes against ε',
  async run(ctx: BenchContext): Promise<BenchResult> {
    if (!existsSync(HANDBOOK)) {
      const msg = `skipped: ${HANDBOOK} not found (shared data absent; set FINSECURE_HANDBOOK to the handbook April 2018 file)`;
      ctx.log(msg);
      return { tables: [], targets: [], notes: [msg], data: { skipped: true } };
    }
    ctx.log(`reading ${HANDBOOK}`);
    const t0 = performance.now();
    const acc = await customerFeaturesFromCsv(HANDBOOK);
    const { ids, points: raw } = acc.finish();
    const readMs = performance.now() - t0;
    // Natural partition: each bank holds its own customers.
    const bankOf = ids.map((id) => Number(id) % BANKS);
    const split = (p: Points): Points[] =>
      Array.from({ length: BANKS }, (_, b) => {
        const rows = bankOf.flatMap((x, i) => (x === b ? [i] : []));
        const data = new Float64Array(rows.length * p.d);
        rows.forEach((r, j) => data.set(p.data.subarray(r * p.d, (r + 1) * p.d), j * p.d));
        return { data, n: rows.length, d: p.d };
      });
    // Chan's mergeable moments, as a segmentation job merges the banks' (common/kmeans/segments.ts).
    const all = scalePoints(raw, scalingOf(mergeMomentsChan(split(raw).map(momentsOf))));
    const shards = split(all);
    ctx.log(`${all.n} customers, ${shards.map((s) => s.n).join(' / ')} per bank (${num(readMs)} ms to read)`);

    const ref = sklearn(all, ctx);
    const notes: string[] = [];
    const skl = typeof ref === 'string' ? undefined : ref;
    if (typeof ref === 'string') notes.push(ref);
    const ratio = (x: number) => (skl ? x / skl.inertia : NaN);

    const seeds = ctx.quick ? 3 : 10;
    const plain: Row[] = [];
    const runFrom = (label: string, inits: Centres[]) => {
      const t = performance.now();
      const res = inits.map((init) => federatedKMeans(shards, init, { tol: 1e-10, maxRounds: 300 }));
      const ms = (performance.now() - t) / inits.length;
      const iners = res.map((r) => inertia(all, r.centres));
      const best = Math.min(...iners);
      const bi = iners.indexOf(best);
      plain.push({
        init: label,
        runs: inits.length,
        'best inertia': num(best, 1),
        'best / sklearn': num(ratio(best), 4),
        'median / sklearn': num(ratio(median(iners)), 4),
        rounds: res[bi]!.rounds.length,
        'ms per run': num(ms, 0),
        'segment sizes (best)': sizesOf(all, res[bi]!.centres).join(' / '),
      });
      return { best, median: median(iners) };
    };
    ctx.log('federated k-means without noise');
    const pp = runFrom(
      'k-means++ on pooled rows (reference; reveals customers)',
      Array.from({ length: seeds }, (_, s) => kmeansPlusPlus(all, K, createRng(s))),
    );
    const hist = mergeHist(shards, 1, createRng(100));
    const hi = runFrom(
      'k-means++ on noised 4^6 histogram (z = 1)',
      Array.from({ length: seeds }, (_, s) => histogramInit(hist, GRID, K, createRng(s), 10, 2 * Math.sqrt(BANKS))),
    );
    runFrom(
      'uniform in the public box [-3, 3]^6',
      Array.from({ length: seeds }, (_, s) => uniformInit(K, BOX, createRng(s))),
    );
    if (skl)
      plain.push({
        init: 'scikit-learn KMeans (k-means++, n_init 10)',
        runs: 10,
        'best inertia': num(skl.inertia, 1),
        'best / sklearn': '1.0000',
        'median / sklearn': '',
        rounds: '',
        'ms per run': '',
        'segment sizes (best)': [...skl.sizes].sort((a, b) => b - a).join(' / '),
      });

    ctx.log('with differential privacy');
    const dpRows: Row[] = [];
    const dpSeeds = ctx.quick ? 2 : 5;
    const releases = 1 + ROUNDS_DP;
    const dpData: unknown[] = [];
    for (const eps of [0.5, 1, 2, 4, 8, 16]) {
      const z = multiplierFor(eps, releases);
      const iners: number[] = [];
      let sizes: number[] = [];
      let released: number[] = [];
      for (let s = 0; s < dpSeeds; s++) {
        const rng = createRng(1000 + s);
        const accountant = new RdpAccountant().addGaussian(z, 1); // the histogram release
        const h = mergeHist(shards, z, rng);
        let init: Centres;
        try {
          init = histogramInit(h, GRID, K, rng, 10, 2 * z * Math.sqrt(BANKS));
        } catch {
          init = uniformInit(K, BOX, rng); // the noise drowned the histogram
        }
        const r = federatedKMeans(shards, init, {
          privacy: { clip: CLIP, noiseMultiplier: z },
          rng,
          maxRounds: ROUNDS_DP,
          tol: 0,
          accountant,
        });
        iners.push(inertia(all, r.centres));
        if (s === 0) {
          sizes = sizesOf(all, r.centres);
          released = Array.from(r.counts, (c) => Math.round(c)).sort((a, b) => b - a);
          dpData.push({ eps, z, spent: accountant.epsilon(DELTA).epsilon });
        }
      }
      dpRows.push({
        'ε (δ=1e-5)': eps,
        z: num(z, 2),
        'σ of sums/counts': num(z * Math.sqrt(CLIP * CLIP + 1), 1),
        'median inertia': num(median(iners), 1),
        'median / sklearn': num(ratio(median(iners)), 3),
        'worst / sklearn': num(ratio(Math.max(...iners)), 3),
        'segment sizes (true, seed 0)': sizes.join(' / '),
        'released sizes (noised, seed 0)': released.join(' / '),
      });
    }
    const targets = skl
      ? [
          target('no noise, k-means++ init: best inertia / sklearn', pp.best / skl.inertia, '<=', 1.02, '×'),
          target('no noise, noised-histogram init: best inertia / sklearn', hi.best / skl.inertia, '<=', 1.02, '×'),
        ]
      : [];
    notes.push(
      `${all.n} customers, k = ${K}, ${BANKS} banks (customer id mod 3); features standardised with merged moments; clip C = ${CLIP}; ` +
        `DP rows: 1 histogram release (4^6 cells, box [-3, 3]^6) + ${ROUNDS_DP} Lloyd rounds at noise multiplier z, ε from the RDP accountant; median over ${dpSeeds} seeds.`,
    );
    return {
      tables: [
        { title: `Without noise: inertia against scikit-learn (k = ${K})`, rows: plain },
        { title: `With differential privacy (${ROUNDS_DP} rounds, per-bank ε)`, rows: dpRows },
      ],
      targets,
      notes,
      data: { customers: all.n, sklearn: skl ?? null, plain, dp: dpRows, dpData },
    };
  },
};

/** Each bank's coarse histogram with its own noise, summed (what the aggregator gets). */
function mergeHist(shards: Points[], z: number, rng: ReturnType<typeof createRng>): Float64Array {
  const hs = shards.map((s) => noiseHistogram(coarseHistogram(s, GRID), z, rng));
  const out = new Float64Array(hs[0]!.length);
  for (const h of hs) for (let i = 0; i < h.length; i++) out[i]! += h[i]!;
  return out;
}
