/**
 * FedAvg aggregation on the aggregator's real path, against this machine's memory bandwidth
 * measured in the same run: 10, 100 and 1,000 updates of a 1,000,000-parameter model, each
 * arriving as a real `update` frame.
 *
 * Per update, as the aggregator does it (federation/frames.ts, then fit-stage.ts): decode the
 * frame (`decodeClientMessage`: header checks, a copy into a fresh Float32Array, the one-pass
 * finiteness check that also gives the sum of squares), then `add` (validation, then the weighted
 * sum into the Float64Array). The frames are encoded before timing (4 distinct ones, reused in
 * turn). No GC is forced between adds (the aggregator forces none): process memory is sampled with
 * a forced GC only right after beginAggregation and after the last add, RSS after every add.
 *
 * Reference, same process, interleaved with the runs: a streaming copy of a 64 MB Float64Array
 * (`TypedArray.prototype.set`, a native memcpy; twice the 32 MB L3 of the machines here), in
 * bytes moved (read + write) per second. The add moves 24 bytes per parameter (validation reads
 * the float32 delta, the accumulate reads it again and reads and writes the float64 sum): that
 * memory traffic is set against the copy's. Throughput in update bytes (4 per parameter) is given
 * too, as before (1 MB = 10^6 bytes).
 *
 * Memory, two ways: the accumulator's own allocation, exactly (typed-array buffers reachable from
 * the Aggregation object, caller buffers excluded, plus its Map/Set entries), and process-wide
 * growth of ArrayBuffer and heap bytes over the adds with the peak RSS.
 *
 * Timings are taken in the state a long-running aggregator is in: V8 keeps a process-wide
 * "no ArrayBuffer was ever detached" protector that lets optimised code skip detached-buffer
 * checks on typed arrays, and the first detach anywhere in the process (wasm memory growth, a
 * transferred buffer, a fetch body read through a web stream) invalidates it for good. `run`
 * detaches one throwaway buffer first, so the figures are always that conservative state.
 *
 * A second table splits the CPU of one 1M-parameter update into its passes (issue 14 item 4),
 * including the WebSocket unmasking that `ws` does in JavaScript when its optional native add-on
 * (bufferutil) is absent: the same byte loop as ws 8's lib/buffer-util.js.
 */
import os from 'node:os';
import { l2Norm } from '@finsecure/common/dp';
import { decodeClientMessage, encodeClientMessage, firstNonFinite } from '@finsecure/common/protocol';
import { createStrategy, type Aggregation, type BankCandidate, type RoundContext } from '@finsecure/common/strategy';
import { createRng } from '@finsecure/common/rng';
import {
  bytes,
  gc,
  median,
  num,
  target,
  timeSync,
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
/** Bytes the add moves per parameter: float32 delta read, float64 sum read and written; the validation pass reads the delta once more. */
const ACCUMULATE_BYTES = 20;
const VALIDATE_BYTES = 4;

interface RunFigures {
  updates: number;
  addMsTotal: number;
  addMsMedian: number;
  decodeMsMedian: number;
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

const FRAMES = 4;

/** Streaming reference: bytes moved (read + write) per second by a native copy of a 64 MB Float64Array. */
function streamingCopyBytesPerSecond(src: Float64Array, dst: Float64Array): number {
  const ms = median(timeSync(() => dst.set(src), 5, 1));
  return (2 * src.byteLength) / (ms / 1000);
}

/** The same byte loop as `ws` 8 (lib/buffer-util.js `_unmask`) when bufferutil is not installed. */
function unmaskJs(buffer: Uint8Array, mask: Uint8Array): void {
  for (let i = 0; i < buffer.length; i++) buffer[i] ^= mask[i & 3]!;
}

function updateFrames(base: Float32Array): Uint8Array[] {
  return Array.from({ length: FRAMES }, (_, k) => {
    const delta = base.map((x) => x * (k + 1));
    return encodeClientMessage(
      {
        type: 'update',
        roundId: 1,
        modelVersion: 0,
        kind: 'delta',
        numExamples: 1000,
        numTrained: 1000,
        loss: 0.1,
        timings: { trainMs: 1, prepareMs: 1 },
      },
      [{ name: 'update', shape: [PARAMS], data: delta }],
    );
  });
}

function runOnce(updates: number, base: Float32Array, frames: Uint8Array[]): RunFigures {
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
  const callers = new Set<ArrayBufferLike>([global.buffer, base.buffer, ...frames.map((f) => f.buffer)]);
  const agg: Aggregation = strategy.beginAggregation(ctx, selected);
  const own0 = ownedMemory(agg, callers);
  const afterBegin = memory();
  let peakRss = afterBegin.rss;
  const addMs: number[] = [];
  const decodeMs: number[] = [];
  let weightSum = 0;
  let factor = 0;
  let normSum = 0;
  for (let k = 0; k < updates; k++) {
    const numExamples = 1000 + k;
    weightSum += numExamples;
    factor += numExamples * ((k % FRAMES) + 1);
    const t0 = performance.now();
    const decoded = decodeClientMessage(frames[k % FRAMES]!);
    const tensor = decoded.tensors.get('update')!;
    normSum += Math.sqrt(tensor.sumOfSquares); // what the update checks need
    const t1 = performance.now();
    agg.add({ bankId: `bank-${k}`, delta: tensor.data, numExamples, loss: 0.1 });
    const t2 = performance.now();
    decodeMs.push(t1 - t0);
    addMs.push(t2 - t1);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  const own1 = ownedMemory(agg, callers);
  const end = memory();
  const t0 = performance.now();
  const out = agg.finish();
  const finishMs = performance.now() - t0;
  // Weighted mean of base·((k mod 4) + 1) with weights 1000 + k.
  factor /= weightSum;
  let correct = out.numContributors === updates && Number.isFinite(normSum);
  for (let i = 0; i < PARAMS; i += 997) {
    const expected = base[i]! * factor;
    if (Math.abs(out.weights[i]! - expected) > 1e-5 * Math.max(1, Math.abs(expected))) correct = false;
  }
  const addMsTotal = addMs.reduce((a, b) => a + b, 0);
  return {
    updates,
    addMsTotal,
    addMsMedian: median(addMs),
    decodeMsMedian: median(decodeMs),
    finishMs,
    bytesPerSecond: (updates * PARAMS * 4) / (addMsTotal / 1000),
    ownBytesAtBegin: own0.bytes,
    ownBytesAtEnd: own1.bytes,
    ownEntries: own1.entries,
    arrayBufferGrowth: end.arrayBuffers - afterBegin.arrayBuffers,
    heapGrowth: end.heapUsed - afterBegin.heapUsed,
    peakRss,
    correct,
  };
}

/** Per-pass CPU of one 1M-parameter update (medians), for issue 14 item 4. */
function passes(frames: Uint8Array[], reps: number): Record<string, number> {
  const frame = frames[0]!;
  const masked = frame.slice();
  const mask = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const data = decodeClientMessage(frame).tensors.get('update')!.data;
  const agg = createStrategy('fedavg').beginAggregation(
    {
      roundId: 1,
      global: new Float32Array(PARAMS),
      config: { epochs: 1, batchSize: 256, learningRate: 0.001, smoteRatio: 0, smoteK: 5, updateEncoding: 'float32' },
      rng: createRng(1),
    },
    Array.from({ length: reps + 3 }, (_, i) => ({ bankId: `b${i}`, numExamples: 1000 })),
  );
  let k = 0;
  const m = (fn: () => void) => median(timeSync(fn, reps, 2));
  return {
    'WebSocket unmask in JS (ws without bufferutil)': m(() => unmaskJs(masked, mask)),
    'decode (header, copy, one-pass finite check + Σx²)': m(() => decodeClientMessage(frame)),
    'copy alone (Float32Array.prototype.slice)': m(() => data.slice()),
    'former separate non-finite scan (firstNonFinite)': m(() => firstNonFinite(data)),
    'former separate L2 norm pass (l2Norm)': m(() => l2Norm(data)),
    'FedAvg add (validation + accumulate)': m(() =>
      agg.add({ bankId: `b${k++}`, delta: data, numExamples: 1000, loss: 0.1 }),
    ),
  };
}

const range = (xs: number[], digits = 2) =>
  `${num(Math.min(...xs), digits)} / ${num(median(xs), digits)} / ${num(Math.max(...xs), digits)}`;

async function run(ctx: BenchContext): Promise<BenchResult> {
  if (!(globalThis as { gc?: unknown }).gc)
    ctx.log('warning: run with --expose-gc (the runner does) for memory figures');
  detachOneBuffer();
  const load = os.loadavg()[0]!;
  const rng = createRng(42);
  const base = Float32Array.from({ length: PARAMS }, () => rng.normal() * 0.01);
  const frames = updateFrames(base);
  const copySrc = new Float64Array(8 * 1024 * 1024).fill(1);
  const copyDst = new Float64Array(copySrc.length);
  // Warm-up: JIT the decode, validation and add loops as in an aggregator that has run a few rounds.
  for (let round = 0; round < 3; round++) runOnce(10, base, frames);
  const counts = ctx.quick ? [10, 100] : COUNTS;
  const repeats = ctx.quick ? 1 : 3;
  const figures: RunFigures[][] = counts.map(() => []);
  const stream: number[] = [];
  // Interleaved: reference, then each size, `repeats` times over.
  for (let r = 0; r < repeats; r++) {
    stream.push(streamingCopyBytesPerSecond(copySrc, copyDst));
    counts.forEach((n, i) => {
      ctx.log(`repeat ${r + 1}/${repeats}: ${n} updates`);
      figures[i]!.push(runOnce(n, base, frames));
    });
  }
  stream.push(streamingCopyBytesPerSecond(copySrc, copyDst));
  const streamMedian = median(stream);
  const traffic = (f: RunFigures) => (f.bytesPerSecond * (ACCUMULATE_BYTES + VALIDATE_BYTES)) / 4;

  const rows: Row[] = figures.map((fs) => {
    const last = fs[fs.length - 1]!;
    return {
      updates: num(last.updates),
      'decode ms/update (min/med/max of run medians)': range(fs.map((f) => f.decodeMsMedian)),
      'add ms/update': range(fs.map((f) => f.addMsMedian)),
      'add, update GB/s': range(
        fs.map((f) => f.bytesPerSecond / 1e9),
        2,
      ),
      'add, memory traffic GB/s': range(
        fs.map((f) => traffic(f) / 1e9),
        2,
      ),
      'finish ms': num(median(fs.map((f) => f.finishMs)), 1),
      'accumulator after begin / last add': `${bytes(last.ownBytesAtBegin)} / ${bytes(last.ownBytesAtEnd)}`,
      'map/set entries': num(last.ownEntries),
      'ArrayBuffer / heap growth': `${bytes(last.arrayBufferGrowth)} / ${bytes(last.heapGrowth)}`,
      'peak RSS': bytes(Math.max(...fs.map((f) => f.peakRss))),
      correct: fs.every((f) => f.correct) ? 'yes' : 'NO',
    };
  });
  const pass = passes(frames, ctx.quick ? 5 : 15);
  const passRows: Row[] = Object.entries(pass).map(([k, ms]) => ({ pass: k, 'ms (median)': num(ms, 2) }));
  const before =
    pass['WebSocket unmask in JS (ws without bufferutil)']! +
    pass['decode (header, copy, one-pass finite check + Σx²)']! +
    pass['former separate non-finite scan (firstNonFinite)']! +
    pass['FedAvg add (validation + accumulate)']!;
  const afterNoUnmask =
    pass['decode (header, copy, one-pass finite check + Σx²)']! + pass['FedAvg add (validation + accumulate)']!;

  const all = figures.flat();
  const slowest = all.reduce((a, b) => (b.bytesPerSecond < a.bytesPerSecond ? b : a));
  const first = figures[0]![figures[0]!.length - 1]!;
  const last = figures[figures.length - 1]![figures[figures.length - 1]!.length - 1]!;
  const targets = [
    target(
      `accumulate step memory traffic / streaming copy, slowest run (${slowest.updates} updates)`,
      (100 * traffic(slowest)) / streamMedian,
      '>=',
      50,
      '%',
    ),
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
    target('aggregator CPU per 1M-parameter update, passes here without unmasking', afterNoUnmask, '<=', 10, 'ms'),
  ];
  const notes = [
    `1-minute load average at start: ${load.toFixed(2)}. ${repeats} interleaved repeats; cells are min / median / max of each repeat's median.`,
    `Reference (same process, interleaved): streaming copy of 64 MB Float64Array, ${range(
      stream.map((x) => x / 1e9),
      2,
    )} GB/s moved (read + write). Accumulate traffic counts ${ACCUMULATE_BYTES + VALIDATE_BYTES} bytes per parameter (validation read 4, delta read 4, sum read 8 + write 8).`,
    `The accumulator's working set (4 MB update + 8 MB sum) fits the 32 MB L3 of the machines here, so the add is not bound by DRAM bandwidth alone.`,
    `Per-update passes (1M parameters): before = unmask + decode + separate non-finite scan + add = ${num(before, 2)} ms (the old L2 pass cost the same as the fused Σx², which now replaces it); now, without the JS unmask (bufferutil installed): ${num(afterNoUnmask, 2)} ms.`,
    `model: ${num(PARAMS)} float32 parameters (${bytes(PARAMS * 4)} per update); FedAvg keeps a Float64Array running sum (${bytes(PARAMS * 8)}).`,
  ];
  if (all.some((f) => !f.correct)) notes.push('FedAvg result did NOT match the expected weighted mean!');
  return {
    tables: [
      { title: `FedAvg on the aggregator's path: decode + add of 1M-parameter update frames`, rows },
      { title: 'CPU per pass over one 1M-parameter update', rows: passRows },
    ],
    targets,
    notes,
    data: { params: PARAMS, loadAverage: load, streamingCopyBytesPerSecond: stream, runs: figures, passesMs: pass },
  };
}

export const aggregation: Benchmark = {
  name: 'aggregation',
  title: 'FedAvg aggregation throughput and memory',
  description:
    'FedAvg decode + add of 10, 100, 1,000 real 1M-parameter update frames vs streaming memory copy; per-pass CPU',
  run,
};
