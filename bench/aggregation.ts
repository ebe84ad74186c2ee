/**
 * FedAvg aggregation throughput and memory: 10, 100 and 1,000 updates of a
 * 1,000,000-parameter model through `beginAggregation → add × n → finish`.
 *
 * Every update is generated into ONE reused buffer (the strategy must not keep a
 * reference to it), so the benchmark itself holds no updates and what memory grows is
 * the accumulator's. Generation is not timed: throughput counts only `add` (validation
 * plus the weighted sum), in MB of float32 update per second (1 MB = 10⁶ bytes).
 *
 * Memory is measured two ways:
 * - the accumulator's own allocation, exactly: the typed-array buffers reachable from the
 *   Aggregation object (the caller's global weights and update buffer excluded), right
 *   after beginAggregation and again after the last add, plus the number of Map/Set
 *   entries it holds (per-bank bookkeeping);
 * - process-wide: growth of ArrayBuffer and heap bytes over the adds (sampled after a
 *   forced GC, so garbage does not count) and the peak RSS. Coarser (GC timing, lazily
 *   freed ArrayBuffers), but it would catch memory held outside the object graph.
 *
 * Timings are taken in the state a long-running aggregator is in: V8 keeps a process-wide
 * "no ArrayBuffer was ever detached" protector that lets optimised code skip detached-buffer
 * checks on typed arrays, and the first detach anywhere in the process (wasm memory growth,
 * a transferred buffer, a fetch body read through a web stream) invalidates it for good.
 * The aggregator of `npm start` loses it at startup (fetch); this process loses it under
 * tsx (tsx scans the CommonJS files run.ts pulls in, TF.js among them, with a wasm lexer
 * whose memory grows); a plain `node` script on `dist/` may keep it and run typed-array
 * loops up to 2× faster. `run` detaches one throwaway buffer first, so the figures are
 * always the conservative state, whatever this process imported before.
 */
import { createStrategy, type Aggregation, type BankCandidate, type RoundContext } from '@finsecure/common/strategy';
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
/** "Independent of the number of updates": (1,000 updates) − (10 updates) below this. */
const MEMORY_SLACK = 1e6;

interface RunFigures {
  updates: number;
  addMsTotal: number;
  addMsMedian: number;
  finishMs: number;
  bytesPerSecond: number;
  /** Typed-array bytes owned by the accumulator after beginAggregation / after the last add. */
  ownBytesAtBegin: number;
  ownBytesAtEnd: number;
  /** Map/Set entries held by the accumulator after the last add. */
  ownEntries: number;
  /** Process-wide growth from right after beginAggregation, max over samples. */
  arrayBufferGrowth: number;
  heapGrowth: number;
  peakRss: number;
  /** finish() result checked against the exact expectation. */
  correct: boolean;
}

/** Invalidates V8's ArrayBufferDetaching protector (see the header), as the aggregator's process has. */
function detachOneBuffer(): void {
  const b = new ArrayBuffer(8);
  structuredClone(b, { transfer: [b] });
}

function memory() {
  gc();
  return process.memoryUsage();
}

/**
 * Typed-array bytes and collection entries reachable from `root` (own enumerable
 * properties, Maps, Sets, arrays), each ArrayBuffer counted once, `exclude` skipped.
 */
function ownedMemory(root: unknown, exclude: ReadonlySet<ArrayBufferLike>): { bytes: number; entries: number } {
  const seen = new Set<unknown>();
  const buffers = new Set<ArrayBufferLike>();
  let entries = 0;
  const visit = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 8) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!exclude.has(v.buffer)) buffers.add(v.buffer);
    } else if (v instanceof ArrayBuffer) {
      if (!exclude.has(v)) buffers.add(v);
    } else if (v instanceof Map) {
      entries += v.size;
      for (const [k, x] of v) {
        visit(k, depth + 1);
        visit(x, depth + 1);
      }
    } else if (v instanceof Set) {
      entries += v.size;
      for (const x of v) visit(x, depth + 1);
    } else {
      for (const x of Object.values(v)) visit(x, depth + 1);
    }
  };
  visit(root, 0);
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  return { bytes: total, entries };
}

function runOnce(updates: number, base: Float32Array, sampleEvery: number): RunFigures {
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
  const callers = new Set<ArrayBufferLike>([global.buffer, delta.buffer, base.buffer]);

  const agg: Aggregation = strategy.beginAggregation(ctx, selected);
  const own0 = ownedMemory(agg, callers);
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
    if ((k + 1) % sampleEvery === 0 || k === updates - 1) {
      const m = memory();
      peakRss = Math.max(peakRss, m.rss);
      arrayBufferGrowth = Math.max(arrayBufferGrowth, m.arrayBuffers - afterBegin.arrayBuffers);
      heapGrowth = Math.max(heapGrowth, m.heapUsed - afterBegin.heapUsed);
    } else {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
  }
  const own1 = ownedMemory(agg, callers);
  const t0 = performance.now();
  const out = agg.finish();
  const finishMs = performance.now() - t0;

  // Weighted mean of base·(k+1) with weights 1000+k: base · Σ(1000+k)(k+1) / Σ(1000+k).
  let factor = 0;
  for (let k = 0; k < updates; k++) factor += (1000 + k) * (k + 1);
  factor /= weightSum;
  let correct = out.numContributors === updates;
  for (let i = 0; i < PARAMS; i += 997) {
    const expected = base[i]! * factor;
    if (Math.abs(out.weights[i]! - expected) > 1e-5 * Math.max(1, Math.abs(expected))) correct = false;
  }
  const addMsTotal = addMs.reduce((a, b) => a + b, 0);
  return {
    updates,
    addMsTotal,
    addMsMedian: median(addMs),
    finishMs,
    bytesPerSecond: (updates * PARAMS * 4) / (addMsTotal / 1000),
    ownBytesAtBegin: own0.bytes,
    ownBytesAtEnd: own1.bytes,
    ownEntries: own1.entries,
    arrayBufferGrowth,
    heapGrowth,
    peakRss,
    correct,
  };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  if (!(globalThis as { gc?: unknown }).gc) {
    ctx.log('warning: run with --expose-gc (the runner does) for meaningful process memory figures');
  }
  detachOneBuffer();
  const rng = createRng(42);
  const base = Float32Array.from({ length: PARAMS }, () => rng.normal() * 0.01);
  // Warm-up: JIT the add loop and the validation pass as in an aggregator that has run a
  // few rounds. One round is not enough: a round's first add takes its own path (see
  // fedavg.ts), and code optimised after a single round deoptimised in the first timed
  // round (--trace-deopt), which added ~10 ms to the 10-update run.
  for (let round = 0; round < 3; round++) runOnce(10, base, 10);
  const counts = ctx.quick ? [10, 100] : COUNTS;
  const figures: RunFigures[] = [];
  for (const n of counts) {
    ctx.log(`${n} updates`);
    // Memory sampled after every update for small runs, every 10th for 1,000 (a forced
    // GC costs milliseconds).
    figures.push(runOnce(n, base, n >= 1000 ? 10 : 1));
  }

  const rows: Row[] = figures.map((f) => ({
    updates: num(f.updates),
    'MB of updates': num((f.updates * PARAMS * 4) / 1e6),
    'add total ms': num(f.addMsTotal, 1),
    'ms per update (median)': num(f.addMsMedian, 2),
    'MB/s': num(f.bytesPerSecond / 1e6),
    'finish ms': num(f.finishMs, 1),
    'accumulator after begin': bytes(f.ownBytesAtBegin),
    'after last add': bytes(f.ownBytesAtEnd),
    'map/set entries': num(f.ownEntries),
    'ArrayBuffer growth': bytes(f.arrayBufferGrowth),
    'heap growth': bytes(f.heapGrowth),
    'peak RSS': bytes(f.peakRss),
    correct: f.correct ? 'yes' : 'NO',
  }));

  const slowest = figures.reduce((a, b) => (b.bytesPerSecond < a.bytesPerSecond ? b : a));
  const first = figures[0]!;
  const last = figures[figures.length - 1]!;
  const targets = [
    target(
      `FedAvg add throughput, slowest run (${slowest.updates} updates)`,
      slowest.bytesPerSecond / 1e9,
      '>=',
      TARGET_BYTES_PER_SECOND / 1e9,
      'GB/s',
    ),
    target(
      `accumulator memory, ${num(last.updates)} vs ${first.updates} updates`,
      (last.ownBytesAtEnd - first.ownBytesAtEnd) / 1e6,
      '<=',
      MEMORY_SLACK / 1e6,
      'MB',
    ),
    target(
      `process ArrayBuffer + heap growth, ${num(last.updates)} vs ${first.updates} updates`,
      (Math.max(0, last.arrayBufferGrowth) +
        Math.max(0, last.heapGrowth) -
        Math.max(0, first.arrayBufferGrowth) -
        Math.max(0, first.heapGrowth)) /
        1e6,
      '<=',
      MEMORY_SLACK / 1e6,
      'MB',
    ),
  ];
  const notes = [
    `model: ${num(PARAMS)} float32 parameters (${bytes(PARAMS * 4)} per update); FedAvg keeps a Float64Array running sum (${bytes(PARAMS * 8)}). Timed with V8's ArrayBufferDetaching protector invalidated, as in the aggregator (see bench/aggregation.ts). Map/set entries: the selected banks and each contributor's weight (O(banks), a few dozen bytes each).`,
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
