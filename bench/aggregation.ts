/**
 * FedAvg aggregation throughput and memory: 10, 100 and 1,000 updates of a
 * 1,000,000-parameter model through `beginAggregation → add × n → finish`.
 *
 * Every update is generated into ONE reused buffer (the strategy must not keep a
 * reference to it), so the benchmark itself holds no updates and what memory grows is
 * the accumulator's. Generation is not timed: throughput counts only `add` (validation
 * plus the weighted sum), in MB of float32 update per second (1 MB = 10⁶ bytes).
 *
 * Memory, per run: the accumulator's own allocation (external ArrayBuffer bytes right
 * after beginAggregation, after a forced GC), the growth of ArrayBuffer bytes and heap
 * from there to the end of the last add (sampled after every add; GC forced before each
 * sample so that garbage does not count), and the process' peak RSS over the run. If the
 * accumulator is O(model size), the growth over 1,000 updates equals the growth over 10.
 */
import { createStrategy, type BankCandidate, type RoundContext } from '@finsecure/common/strategy';
import { createRng } from '@finsecure/common/rng';
import {
  bytes,
  gc,
  median,
  num,
  target,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
} from './lib.js';

const PARAMS = 1_000_000;
const COUNTS = [10, 100, 1000];
const TARGET_BYTES_PER_SECOND = 1e9;
/** "Independent of the number of updates": growth(1,000) − growth(10) below this. */
const MEMORY_SLACK = 1e6;

interface RunFigures {
  updates: number;
  addMsTotal: number;
  addMsMedian: number;
  finishMs: number;
  bytesPerSecond: number;
  accumulatorBytes: number;
  /** Growth of ArrayBuffer bytes after beginAggregation, max over samples. */
  arrayBufferGrowth: number;
  heapGrowth: number;
  peakRss: number;
  /** finish() result checked against the exact expectation. */
  correct: boolean;
}

function memory() {
  gc();
  return process.memoryUsage();
}

function runOnce(updates: number, base: Float32Array, gcEvery: number): RunFigures {
  const global = new Float32Array(PARAMS);
  const strategy = createStrategy('fedavg');
  const selected: BankCandidate[] = Array.from({ length: updates }, (_, i) => ({
    bankId: `bank-${i}`,
    numExamples: 1000 + i,
  }));
  const ctx: RoundContext = {
    roundId: 1,
    global,
    config: { epochs: 1, batchSize: 256, learningRate: 0.001, smoteRatio: 0, smoteK: 5, updateEncoding: 'float32' },
    rng: createRng(1),
  };
  const delta = new Float32Array(PARAMS); // the one reused update buffer

  const before = memory();
  const agg = strategy.beginAggregation(ctx, selected);
  const afterBegin = memory();
  let peakRss = afterBegin.rss;
  let arrayBufferGrowth = 0;
  let heapGrowth = 0;
  const addMs: number[] = [];
  let weightSum = 0;
  for (let k = 0; k < updates; k++) {
    // Update k = base · (k + 1): cheap to generate, and the exact mean is known.
    const scale = k + 1;
    for (let i = 0; i < PARAMS; i++) delta[i] = base[i]! * scale;
    const numExamples = 1000 + k;
    weightSum += numExamples;
    const t0 = performance.now();
    agg.add({ bankId: `bank-${k}`, delta, numExamples, loss: 0.1 });
    addMs.push(performance.now() - t0);
    if ((k + 1) % gcEvery === 0 || k === updates - 1) {
      const m = memory();
      peakRss = Math.max(peakRss, m.rss);
      arrayBufferGrowth = Math.max(arrayBufferGrowth, m.arrayBuffers - afterBegin.arrayBuffers);
      heapGrowth = Math.max(heapGrowth, m.heapUsed - afterBegin.heapUsed);
    } else {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
  }
  const t0 = performance.now();
  const out = agg.finish();
  const finishMs = performance.now() - t0;

  // Weighted mean of base·(k+1) with weights 1000+k: base · Σ(1000+k)(k+1) / Σ(1000+k).
  let factor = 0;
  for (let k = 0; k < updates; k++) factor += (1000 + k) * (k + 1);
  factor /= weightSum;
  let correct = out.numContributors === updates;
  for (let i = 0; i < PARAMS; i += 997) {
    if (Math.abs(out.weights[i]! - base[i]! * factor) > 1e-5 * Math.max(1, Math.abs(base[i]! * factor)))
      correct = false;
  }
  const addMsTotal = addMs.reduce((a, b) => a + b, 0);
  return {
    updates,
    addMsTotal,
    addMsMedian: median(addMs),
    finishMs,
    bytesPerSecond: (updates * PARAMS * 4) / (addMsTotal / 1000),
    accumulatorBytes: afterBegin.arrayBuffers - before.arrayBuffers,
    arrayBufferGrowth,
    heapGrowth,
    peakRss,
    correct,
  };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  if (!(globalThis as { gc?: unknown }).gc)
    ctx.log('warning: run with --expose-gc (the runner does) for meaningful memory figures');
  const rng = createRng(42);
  const base = Float32Array.from({ length: PARAMS }, () => rng.normal() * 0.01);
  // Warm-up: JIT the add loop and the validation pass.
  runOnce(10, base, 10);
  const counts = ctx.quick ? [10, 100] : COUNTS;
  const figures: RunFigures[] = [];
  for (const n of counts) {
    ctx.log(`${n} updates`);
    // GC every update for small runs, every 10 for 1,000 (a forced GC costs ~ms).
    figures.push(runOnce(n, base, n >= 1000 ? 10 : 1));
  }

  const rows: Row[] = figures.map((f) => ({
    updates: num(f.updates),
    'MB of updates': num((f.updates * PARAMS * 4) / 1e6),
    'add total ms': num(f.addMsTotal, 1),
    'ms per update (median)': num(f.addMsMedian, 2),
    'MB/s': num(f.bytesPerSecond / 1e6),
    'finish ms': num(f.finishMs, 1),
    accumulator: bytes(f.accumulatorBytes),
    'ArrayBuffer growth': bytes(f.arrayBufferGrowth),
    'heap growth': bytes(f.heapGrowth),
    'peak RSS': bytes(f.peakRss),
    correct: f.correct ? 'yes' : 'NO',
  }));

  const slowest = figures.reduce((a, b) => (b.bytesPerSecond < a.bytesPerSecond ? b : a));
  const first = figures[0]!;
  const last = figures[figures.length - 1]!;
  const growth = (f: RunFigures) => f.accumulatorBytes + f.arrayBufferGrowth + Math.max(0, f.heapGrowth);
  const targets = [
    target(
      `FedAvg add throughput, slowest run (${slowest.updates} updates)`,
      slowest.bytesPerSecond / 1e9,
      '>=',
      TARGET_BYTES_PER_SECOND / 1e9,
      'GB/s',
    ),
    target(
      `memory growth ${last.updates} vs ${first.updates} updates (accumulator + buffers + heap)`,
      (growth(last) - growth(first)) / 1e6,
      '<=',
      MEMORY_SLACK / 1e6,
      'MB',
    ),
  ];
  const notes = [
    `model: ${num(PARAMS)} float32 parameters (${bytes(PARAMS * 4)} per update); FedAvg keeps a Float64Array running sum (${bytes(PARAMS * 8)}).`,
  ];
  if (figures.some((f) => !f.correct)) notes.push('FedAvg result did NOT match the expected weighted mean!');
  return {
    tables: [{ title: `FedAvg aggregation of 1M-parameter updates (one reused update buffer)`, rows }],
    targets,
    notes,
    data: { params: PARAMS, runs: figures },
  };
}

export const aggregation: Benchmark = {
  name: 'aggregation',
  title: 'FedAvg aggregation throughput and memory',
  description: 'MB/s and memory of FedAvg over 10, 100, 1,000 updates of a 1M-parameter model',
  run,
};
