/**
 * Robust aggregation: time and memory of every strategy over 10, 100 and 1,000 updates
 * of the MLP (4,097 parameters) and of a 1,000,000-parameter model, with plain FedAvg
 * measured in the same run as the reference.
 *
 * Each run goes through `createStrategy(name, options)` → `beginAggregation` → `add` × n
 * → `finish`, like the aggregator. Updates are generated into ONE reused buffer (not
 * timed): an honest-looking direction with a per-bank perturbation, so Krum's distances
 * and the coordinate-wise sorts do real work. f = ⌊n / 10⌋ (at least 1) hostile banks
 * tolerated (Bulyan: capped at ⌊(n − 3) / 4⌋), trimmed mean β = 0.1, centered clipping τ = 1,
 * Multi-Krum m = n − f, adaptive norm bound k = 3 (reject) around FedAvg.
 *
 * Memory, two ways: the bytes of typed arrays the accumulator holds after the last add
 * (exact, reachable from the Aggregation object, the caller's buffers excluded), and the
 * process's peak RSS growth over the run (adds + finish, which includes what `finish`
 * allocates: Krum's n × n distance matrix, the coordinate columns, the result).
 * Time is reported as wall clock and as this process's CPU time: on a shared machine the
 * CPU time is the figure to compare (Krum's practical limit is computed from it).
 *
 * A combination is skipped, and the table says why, when its buffered updates would
 * exceed 2 GB (n × d × 4 bytes) or when the time predicted from the previous (smaller)
 * run of the same strategy and model exceeds 60 s of CPU (Krum and Bulyan grow with n², the
 * coordinate-wise rules with n log n per coordinate; Bulyan is predicted as Krum plus the
 * trimmed mean at the same size when both were measured).
 */
import { createStrategy, type Aggregation } from '@finsecure/common/strategy';
import { benchRound } from './bench-round.js';
import { bytes, gc, num, ownedMemory, type Benchmark, type BenchContext, type BenchResult, type Row } from './lib.js';

const MODELS = [
  { name: 'MLP', params: 4097 },
  { name: '1M', params: 1_000_000 },
];
const COUNTS = [10, 100, 1000];
const MAX_BUFFER_BYTES = 2e9;
const MAX_SECONDS = 60;

interface Spec {
  label: string;
  name: string;
  options: (n: number) => Record<string, unknown>;
  /** Keeps every update (n × d float32). */
  buffers: boolean;
  /** Growth exponent in n of the time, for the skip prediction. */
  exponent: number;
  /**
   * Labels of strategies whose CPU times at the same n and model add up to this one's
   * (Bulyan = Krum's distances + a coordinate-wise stage like the trimmed mean's): a better
   * prediction than the exponent from a small n, where the linear part dominates.
   */
  predictFrom?: string[];
}

const fOf = (n: number) => Math.max(1, Math.floor(n / 10));
const SPECS: Spec[] = [
  { label: 'fedavg (reference)', name: 'fedavg', options: () => ({}), buffers: false, exponent: 1 },
  { label: 'fedmedian', name: 'fedmedian', options: () => ({}), buffers: true, exponent: 1.2 },
  {
    label: 'trimmed-mean β=0.1',
    name: 'trimmed-mean',
    options: () => ({ trimFraction: 0.1 }),
    buffers: true,
    exponent: 1.2,
  },
  { label: 'krum', name: 'krum', options: (n) => ({ byzantineF: fOf(n) }), buffers: true, exponent: 2 },
  { label: 'multikrum m=n−f', name: 'multikrum', options: (n) => ({ byzantineF: fOf(n) }), buffers: true, exponent: 2 },
  {
    label: 'bulyan',
    name: 'bulyan',
    options: (n) => ({ byzantineF: Math.min(fOf(n), Math.floor((n - 3) / 4)) }),
    buffers: true,
    exponent: 2.2,
    predictFrom: ['krum', 'trimmed-mean β=0.1'],
  },
  {
    label: 'centered-clipping L=1',
    name: 'centered-clipping',
    options: () => ({ clipRadius: 1 }),
    buffers: false,
    exponent: 1,
  },
  {
    label: 'centered-clipping L=3',
    name: 'centered-clipping',
    options: () => ({ clipRadius: 1, clipIterations: 3 }),
    buffers: true,
    exponent: 1,
  },
  {
    label: 'fedavg + adaptive norm k=3',
    name: 'fedavg',
    options: () => ({ adaptiveNormK: 3 }),
    buffers: true,
    exponent: 1,
  },
];

interface Figures {
  strategy: string;
  model: string;
  params: number;
  updates: number;
  addMs: number;
  finishMs: number;
  /** Process CPU time (user + system) over the adds and finish: robust to other processes. */
  cpuMs: number;
  ownBytes: number;
  rssGrowth: number;
  contributors: number;
  skipped?: string;
}

function runOnce(spec: Spec, model: { name: string; params: number }, n: number, base: Float32Array): Figures {
  const d = model.params;
  const global = new Float32Array(d);
  const { selected, ctx } = benchRound(n, global, { next: () => 0.5 } as never); // selection is not benchmarked
  const strategy = createStrategy(spec.name, spec.options(n));
  const delta = new Float32Array(d);
  gc();
  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  let cpu = 0;
  const agg: Aggregation = strategy.beginAggregation(ctx, selected);
  let addMs = 0;
  for (let k = 0; k < n; k++) {
    // Bank k: the shared direction, each coordinate perturbed by up to ±6 % in a bank-specific pattern.
    for (let i = 0; i < d; i++) delta[i] = base[i]! * (1 + 0.01 * (((k * 7919 + i * 31) % 13) - 6));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    agg.add({ bankId: `bank-${k}`, delta, numExamples: 1000 + k, loss: 0.1 });
    addMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1000;
    if (k % 10 === 9) peak = Math.max(peak, process.memoryUsage.rss());
  }
  const own = ownedMemory(agg, new Set([global.buffer, delta.buffer, base.buffer])).bytes;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = agg.finish();
  const finishMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  cpu += (c.user + c.system) / 1000;
  peak = Math.max(peak, process.memoryUsage.rss());
  return {
    strategy: spec.label,
    model: model.name,
    params: d,
    updates: n,
    addMs,
    finishMs,
    cpuMs: cpu,
    ownBytes: own,
    rssGrowth: peak - rss0,
    contributors: out.numContributors,
  };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  if (!(globalThis as { gc?: unknown }).gc) ctx.log('warning: run with --expose-gc (the runner does)');
  const counts = ctx.quick ? [10, 100] : COUNTS;
  const figures: Figures[] = [];
  for (const model of MODELS) {
    const base = Float32Array.from({ length: model.params }, (_, i) => 0.01 * Math.sin(i * 0.37));
    // Warm-up (JIT) on the MLP-sized problem.
    for (const spec of SPECS) runOnce(spec, MODELS[0]!, 10, base.subarray(0, MODELS[0]!.params));
    for (const spec of SPECS) {
      let previous: Figures | undefined;
      for (const n of counts) {
        const buffered = spec.buffers ? n * model.params * 4 : 0;
        const parts = spec.predictFrom?.map((label) =>
          figures.find((f) => f.strategy === label && f.model === model.name && f.updates === n && !f.skipped),
        );
        const predicted =
          parts && parts.every((p) => p !== undefined)
            ? parts.reduce((t, p) => t + p!.cpuMs / 1000, 0)
            : previous
              ? (previous.cpuMs / 1000) * (n / previous.updates) ** spec.exponent
              : 0;
        const skip =
          buffered > MAX_BUFFER_BYTES
            ? `skipped: buffers ${bytes(buffered)} of updates (> 2 GB)`
            : predicted > MAX_SECONDS
              ? `skipped: predicted ${num(predicted)} s (> ${MAX_SECONDS} s)`
              : undefined;
        if (skip) {
          figures.push({
            strategy: spec.label,
            model: model.name,
            params: model.params,
            updates: n,
            addMs: NaN,
            finishMs: NaN,
            cpuMs: NaN,
            ownBytes: buffered,
            rssGrowth: NaN,
            contributors: 0,
            skipped: skip,
          });
          ctx.log(`${spec.label}, ${model.name}, ${n} updates: ${skip}`);
          continue;
        }
        ctx.log(`${spec.label}, ${model.name}, ${n} updates`);
        previous = runOnce(spec, model, n, base);
        figures.push(previous);
      }
    }
  }

  const tables = MODELS.map((model) => ({
    title: `Aggregation of ${num(model.params)}-parameter updates (${bytes(model.params * 4)} each)`,
    rows: figures
      .filter((f) => f.model === model.name)
      .map((f): Row => ({
        strategy: f.strategy,
        updates: num(f.updates),
        'add ms': f.skipped ? '' : num(f.addMs, 1),
        'finish ms': f.skipped ? '' : num(f.finishMs, 1),
        'total s': f.skipped ? '' : num((f.addMs + f.finishMs) / 1000, 2),
        'CPU s': f.skipped ? '' : num(f.cpuMs / 1000, 2),
        'held after adds': f.skipped ? '' : bytes(f.ownBytes),
        'peak RSS growth': f.skipped ? '' : bytes(Math.max(0, f.rssGrowth)),
        kept: f.skipped ? '' : num(f.contributors),
        note: f.skipped ?? '',
      })),
  }));

  // Where Krum stops being practical: its distances take n²/2 × d float64 operations.
  const notes: string[] = [];
  for (const model of MODELS) {
    const krum = figures.filter((f) => f.strategy === 'krum' && f.model === model.name && !f.skipped).at(-1);
    if (!krum) continue;
    const perPair = krum.cpuMs / 1000 / ((krum.updates * (krum.updates - 1)) / 2);
    const nAt = (seconds: number) => Math.floor(Math.sqrt((2 * seconds) / perPair));
    notes.push(
      `Krum on the ${model.name} model (${num(model.params)} parameters): ${(perPair * 1e6).toFixed(2)} µs of CPU per pair of updates measured at n = ${krum.updates}; ` +
        `a round's aggregation reaches 10 s at about n = ${num(nAt(10))} and 60 s at n = ${num(nAt(60))} banks, ` +
        `while its buffered updates reach 2 GB at n = ${num(Math.floor(MAX_BUFFER_BYTES / (model.params * 4)))}.`,
    );
  }
  notes.push(
    'Memory held: FedAvg and centered clipping (L = 1) keep one model-size Float64Array whatever the number of banks; every other robust rule (and the adaptive norm bound) keeps n × d float32 (4 bytes × banks × parameters), plus at finish Krum and Bulyan an n × n float64 distance matrix.',
  );
  return { tables, targets: [], notes, data: { runs: figures } };
}

export const robustAggregation: Benchmark = {
  name: 'robust-aggregation',
  title: 'Robust aggregation: time and memory per strategy',
  description:
    'time and memory of Krum, Multi-Krum, Bulyan, trimmed mean, centered clipping vs FedAvg; MLP and 1M params',
  run,
};
