/**
 * The evaluation histograms' share of a round, A/B (issue 14 item 1): what the aggregator does with
 * N banks' two 1,000-bin histograms, from the decoded message to the committed global metrics.
 *
 * - A, the reference: the metrics modules (histogram, curves, global, confusion, layout) as they
 *   were at commit REF (default 5534953, before 2026-12-03), taken from git into a scratch folder,
 *   driven as evaluate-stage.ts then drove them: each bank's AUPRC from the plain arrays as
 *   decoded, then packed; at the commit `globalMetrics` over the packed histograms.
 * - B, the tree's modules as evaluate-stage.ts drives them now: packed first and read packed,
 *   summed into Float64Arrays with one loop per kind of array (histogram.ts `sumHistogramsPacked`).
 *
 * Each sample is a process of its own running one path, A and B alternating, as an aggregator runs
 * one (in one process, V8's type feedback would differ from either). Both must give the same
 * metrics bit for bit; the run stops otherwise. Needs the repository's git history.
 * Usage: `npx tsx bench/histogram-ab.ts [banks=10] [repeats=7] [REF]`: µs of one round's histogram
 * work (min / median / max over the repeats, each sample warmed as a long-running aggregator's
 * handlers are) and the ratio of medians.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as now from '@finsecure/common/metrics';
import type { ScoreHistogram } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { median } from './lib.js';

const banks = Number(process.argv[2] ?? 10);
const repeats = Number(process.argv[3] ?? 7);
const ref = process.argv[4] ?? '5534953';
const BINS = 1000;
const ROUNDS_PER_SAMPLE = 200;

/** A bank's evaluation histograms: 3,000 test rows, 2 % fraud, logits spread over the layout. */
function bankHistogram(seed: number): ScoreHistogram {
  const rng = createRng(seed);
  const h = now.emptyHistogram(BINS);
  for (let i = 0; i < 3000; i++) {
    const b = Math.min(BINS - 1, Math.floor(rng.next() * BINS));
    if (rng.next() < 0.02) h.positives[b]++;
    else h.negatives[b]++;
  }
  return h;
}
const decoded = Array.from({ length: banks }, (_, i) => bankHistogram(i + 1));
/** What JSON.parse gives the aggregator for each evaluation: fresh plain arrays every round. */
const fresh = (h: ScoreHistogram): ScoreHistogram => ({
  ...h,
  positives: h.positives.slice(),
  negatives: h.negatives.slice(),
});

type Metrics = typeof now;

/** The reference modules at `ref`, written under bench/out/ (git-ignored) and imported. */
async function referenceMetrics(): Promise<Metrics> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.join(here, 'out', `histogram-ab-${ref}`, 'metrics');
  mkdirSync(dir, { recursive: true });
  for (const f of ['histogram', 'curves', 'global', 'confusion', 'layout']) {
    const src = execFileSync('git', ['show', `${ref}:packages/common/src/metrics/${f}.ts`], {
      cwd: here,
      encoding: 'utf8',
    });
    writeFileSync(path.join(dir, `${f}.ts`), src);
  }
  const mod = async (f: string) => (await import(pathToFileURL(path.join(dir, `${f}.ts`)).href)) as Partial<Metrics>;
  return { ...(await mod('histogram')), ...(await mod('curves')), ...(await mod('global')) } as Metrics;
}

/** One round as evaluate-stage.ts and the commit did before: AUPRC from the decoded arrays, then packed. */
function roundBefore(m: Metrics): number[] {
  const kept = decoded.map((d) => {
    const h = fresh(d);
    return { auprc: m.auprcFromHistogram(h), histogram: m.packHistogram(h) };
  });
  return withGlobal(m, kept);
}

function withGlobal(m: Metrics, kept: { auprc: number; histogram: now.HistogramView }[]): number[] {
  const g = m.globalMetrics(
    kept.map((k) => ({ numExamples: 1, loss: 0, confusion: { tp: 0, fp: 0, tn: 1, fn: 0 }, histogram: k.histogram })),
  );
  return [...kept.map((k) => k.auprc), g.auprc, g.auprcErrorBound, g.rocAuc];
}

// ---- B: the library's path
function roundNow(m: Metrics): number[] {
  const kept = decoded.map((d) => {
    const histogram = m.packHistogram(fresh(d));
    return { auprc: m.auprcFromHistogram(histogram), histogram };
  });
  return withGlobal(m, kept);
}

function sampleUs(fn: () => unknown): number {
  for (let i = 0; i < ROUNDS_PER_SAMPLE; i++) fn(); // warm, as 100+ rounds of a running federation are
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS_PER_SAMPLE; i++) fn();
  return Number(process.hrtime.bigint() - t0) / ROUNDS_PER_SAMPLE / 1e3;
}

const mode = process.env.FINSECURE_HISTOGRAM_AB;
if (mode === 'A' || mode === 'B') {
  // A child: one path only, as in an aggregator process (V8's type feedback would otherwise mix
  // the two paths' kinds of array in the library functions both call).
  const run = mode === 'A' ? roundBefore.bind(null, await referenceMetrics()) : roundNow.bind(null, now);
  process.stdout.write(JSON.stringify({ us: sampleUs(run), metrics: run() }));
} else {
  await referenceMetrics(); // fails early, with git's message, where the history is missing
  const times: { A: number[]; B: number[] } = { A: [], B: [] };
  const metrics: Record<string, number[]> = {};
  const load = os.loadavg()[0]!;
  for (let r = 0; r < repeats; r++)
    for (const m of ['A', 'B'] as const) {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
        {
          env: { ...process.env, FINSECURE_HISTOGRAM_AB: m },
          encoding: 'utf8',
        },
      );
      const { us, metrics: got } = JSON.parse(out) as { us: number; metrics: number[] };
      times[m].push(us);
      metrics[m] = got;
    }
  if (metrics.A!.some((x, i) => !Object.is(x, metrics.B![i])))
    throw new Error(`A and B differ: ${metrics.A!.join(',')} vs ${metrics.B!.join(',')}`);
  const row = (xs: number[]) =>
    `${Math.min(...xs).toFixed(0)} / ${median(xs).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
  console.log(
    `load average at start: ${load.toFixed(2)}; ${banks} banks, ${BINS} bins, ${repeats} repeats, a process each; A = ${ref}`,
  );
  console.log('| path | µs per round (min / median / max) |\n| --- | ---: |');
  console.log(`| A: before (reference) | ${row(times.A)} |`);
  console.log(`| B: now | ${row(times.B)} |`);
  console.log(`ratio of medians B/A: ${(median(times.B) / median(times.A)).toFixed(2)}; same metrics bit for bit: yes`);
}
