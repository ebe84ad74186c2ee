/**
 * FedAvg aggregation on the aggregator's real path, against this machine's memory bandwidth
 * measured in the same run: 10, 100 and 1,000 updates of a 1,000,000-parameter model, each
 * arriving as a real `update` frame, through three paths interleaved in one process (A/B):
 *
 * - `js`: the JavaScript accumulate loop (WebAssembly kernels switched off with
 *   `setWasmKernelsEnabled(false)`), the update decoded into a fresh Float32Array: the path
 *   before the kernel.
 * - `wasm`: the WebAssembly SIMD kernel (common/kernels/accumulate.ts), the update decoded into a
 *   fresh array (the aggregator decodes a view into the frame instead when the payload is 4-byte
 *   aligned in memory, `DecodeOptions.views`; the passes table times both); `add` copies it into
 *   the kernel's memory.
 * - `wasm+slot`: the same kernel, the update decoded straight into the aggregation's update slot
 *   (`decodeFrame` option `floatTarget`, `Aggregation.updateSlot()`): one copy out of the frame.
 *
 * Per update, as the aggregator does it (federation/frames.ts, then fit-stage.ts): decode the
 * frame (`decodeClientMessage`: header checks, the copy, the one-pass finiteness check that also
 * gives the sum of squares the update checks need), then `add` (field checks, the finiteness check
 * of the values, the weighted sum into the float64 running sum). The frames are encoded before
 * timing (4 distinct ones, reused in turn). No GC is forced between adds (the aggregator forces
 * none): process memory is sampled with a forced GC only right after beginAggregation and after
 * the last add, RSS after every add.
 *
 * Reference, same process, interleaved with the runs: a streaming copy of a 64 MB Float64Array
 * (`TypedArray.prototype.set`, a native memcpy; twice the 32 MB L3 of the machines here), in
 * bytes moved (read + write) per second. The accumulate step (the add on the slot) moves 24 bytes
 * per parameter: the finiteness check reads the float32 delta, the accumulate reads it again and
 * reads and writes the float64 sum; the add that first copies the delta into the slot moves 8
 * more. That traffic is set against the copy's. Throughput in update bytes (4 per parameter) is
 * given too (1 MB = 10^6 bytes).
 *
 * Memory, two ways: the accumulator's own allocation, exactly (typed-array buffers reachable from
 * the Aggregation object, the WebAssembly memory included, caller buffers excluded, plus its
 * Map/Set entries), and process-wide growth of ArrayBuffer and heap bytes over the adds with the
 * peak RSS.
 *
 * Timings are taken in the state a long-running aggregator is in: V8 keeps a process-wide
 * "no ArrayBuffer was ever detached" protector that lets optimised code skip detached-buffer
 * checks on typed arrays, and the first detach anywhere in the process (wasm memory growth, a
 * transferred buffer, a fetch body read through a web stream) invalidates it for good. `run`
 * detaches one throwaway buffer first, so the figures are always that conservative state.
 *
 * A second table runs the accumulate step alone (`Accumulator.add` on its slot), JS vs wasm, at 1M
 * parameters (in L3) and 8M (96 MB, out of cache), against the same streaming copy.
 *
 * A third table splits the CPU of one 1M-parameter update into its passes (issue 14 item 4):
 * the WebSocket unmasking (native `bufferutil`, which `ws` uses when installed, as it is here; the
 * JavaScript byte loop `ws` falls back to, for reference), decode, and add on each path.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { createAccumulator, setWasmKernelsEnabled, sumOfSquares } from '@finsecure/common/kernels';
import { decodeClientMessage, encodeClientMessage } from '@finsecure/common/protocol';
import {
  createStrategy,
  type Aggregation,
  type BankCandidate,
  type RoundContext,
  type Strategy,
  withUpdateStatistics,
} from '@finsecure/common/strategy';
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
/** Bytes the accumulate step moves per parameter: finiteness check reads the delta (4), accumulate reads it (4) and reads and writes the float64 sum (8 + 8). */
const ACCUMULATE_BYTES = 24;
/** Copying the delta into the kernel's slot first: read 4, write 4. */
const COPY_IN_BYTES = 8;

type Mode = 'js' | 'wasm' | 'wasm+slot';
const MODES: Mode[] = ['js', 'wasm', 'wasm+slot'];
/** Memory traffic per parameter of `add` on each path. */
const ADD_BYTES: Record<Mode, number> = {
  js: ACCUMULATE_BYTES,
  wasm: ACCUMULATE_BYTES + COPY_IN_BYTES,
  'wasm+slot': ACCUMULATE_BYTES,
};

interface RunFigures {
  mode: Mode;
  /** Which accumulator ran ('wasm' or 'js'): checks that the switch took. */
  kernel: string;
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

function beginRound(mode: Mode, updates: number, global: Float32Array): Aggregation {
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
  // The kernel is chosen when the strategy first creates its accumulator; switch back on right after.
  setWasmKernelsEnabled(mode !== 'js');
  try {
    return strategyFor(mode).beginAggregation(ctx, selected);
  } finally {
    setWasmKernelsEnabled(true);
  }
}

/**
 * One FedAvg strategy per path, kept across runs as the aggregator keeps its strategy across
 * rounds (federation/round-start.ts): it reuses the last round's running sum (fedavg.ts `spare`).
 */
const strategies = new Map<Mode, Strategy>();
function strategyFor(mode: Mode): Strategy {
  let s = strategies.get(mode);
  if (!s) strategies.set(mode, (s = createStrategy('fedavg')));
  return s;
}

/** Which accumulator an aggregation got (the field is private: read for the bench only). */
function kernelOf(agg: Aggregation): string {
  return (agg as unknown as { acc?: { kind?: string } }).acc?.kind ?? '?';
}

function runOnce(mode: Mode, updates: number, base: Float32Array, frames: Uint8Array[]): RunFigures {
  const global = new Float32Array(PARAMS);
  const agg = beginRound(mode, updates, global);
  const callers = new Set<ArrayBufferLike>([global.buffer, base.buffer, ...frames.map((f) => f.buffer)]);
  const own0 = ownedMemory(agg, callers);
  const afterBegin = memory();
  let peakRss = afterBegin.rss;
  const addMs: number[] = [];
  const decodeMs: number[] = [];
  let weightSum = 0;
  let factor = 0;
  let normSum = 0;
  const slot = mode === 'wasm+slot' ? agg.updateSlot?.() : undefined;
  const opts = slot ? { floatTarget: () => slot } : {};
  for (let k = 0; k < updates; k++) {
    const numExamples = 1000 + k;
    weightSum += numExamples;
    factor += numExamples * ((k % FRAMES) + 1);
    const t0 = performance.now();
    const decoded = decodeClientMessage(frames[k % FRAMES]!, opts);
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
  let correct = out.numContributors === updates && Number.isFinite(normSum) && (mode !== 'wasm+slot' || !!slot);
  for (let i = 0; i < PARAMS; i += 997) {
    const expected = base[i]! * factor;
    if (Math.abs(out.weights[i]! - expected) > 1e-5 * Math.max(1, Math.abs(expected))) correct = false;
  }
  const addMsTotal = addMs.reduce((a, b) => a + b, 0);
  return {
    mode,
    kernel: kernelOf(agg),
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

type Unmask = (buffer: Uint8Array, mask: Uint8Array, output?: Uint8Array, offset?: number, length?: number) => void;

/** bufferutil's native unmask, as `ws` loads it (null if the add-on is not installed). */
function nativeUnmask(): ((buffer: Uint8Array, mask: Uint8Array) => void) | null {
  try {
    const { unmask } = createRequire(import.meta.url)('bufferutil') as { unmask: Unmask };
    return (buffer, mask) => unmask(buffer, mask);
  } catch {
    return null;
  }
}

const PASS = {
  unmaskNative: 'WebSocket unmask, native (bufferutil, as ws uses it here)',
  unmaskJs: 'WebSocket unmask in JS (ws without bufferutil; reference)',
  decodeFresh: 'decode into a fresh array (header, copy, one-pass finite check + Σx²)',
  decodeView: 'decode as a view into the frame (the aggregator, aligned frames: header, finite check + Σx²)',
  decodeSlot: 'decode into the aggregation slot (header, copy, finite check + Σx²)',
  copy: 'of which the copy into a fresh array (Float32Array.prototype.slice)',
  sumSquares: 'of which Σx² (the finite check + the norm the update checks use)',
  statsCopy: 'reputation statistics of the update (withUpdateStatistics, aggregator only; median of the sweeps)',
  addJs: 'FedAvg add, JS path (field checks, finite check, accumulate)',
  addWasm: 'FedAvg add, wasm, delta in a fresh array (copy into slot, checks, accumulate)',
  addSlot: 'FedAvg add, wasm, delta already in the slot (checks, accumulate)',
} as const;

/** Per-pass CPU of one 1M-parameter update (medians), for issue 14 item 4. Interleaved: each pass runs once per sweep. */
function passes(frames: Uint8Array[], reps: number): Record<string, number> {
  const frame = frames[0]!;
  const masked = frame.slice();
  const mask = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const data = decodeClientMessage(frame).tensors.get('update')!.data;
  const global = new Float32Array(PARAMS);
  const aggs = { js: beginRound('js', reps + 2, global), wasm: beginRound('wasm', reps + 2, global) };
  const slotAgg = beginRound('wasm+slot', reps + 2, global);
  const slot = slotAgg.updateSlot!();
  // The wrapper the aggregator puts around FedAvg (round-start.ts withStatistics), around an
  // accumulator that does nothing: its own per-update cost only (whatever it keeps per update).
  const stats = withUpdateStatistics(
    {
      count: 0,
      add: () => {},
      finish: () => ({ weights: global, bankWeights: {}, meanLoss: 0, numContributors: 0 }),
    },
    global,
  );
  let k = 0;
  const native = nativeUnmask();
  const fns: Record<string, () => void> = {
    ...(native ? { [PASS.unmaskNative]: () => native(masked, mask) } : {}),
    [PASS.unmaskJs]: () => unmaskJs(masked, mask),
    [PASS.decodeFresh]: () => decodeClientMessage(frame),
    [PASS.decodeView]: () => decodeClientMessage(frame, { views: true }),
    [PASS.decodeSlot]: () => decodeClientMessage(frame, { floatTarget: () => slot }),
    [PASS.copy]: () => data.slice(),
    [PASS.sumSquares]: () => sumOfSquares(data),
    [PASS.statsCopy]: () => stats.add({ bankId: `bank-${k}`, delta: data, numExamples: 1000, loss: 0.1 }),
    [PASS.addJs]: () => aggs.js.add({ bankId: `bank-${k}`, delta: data, numExamples: 1000, loss: 0.1 }),
    [PASS.addWasm]: () => aggs.wasm.add({ bankId: `bank-${k}`, delta: data, numExamples: 1000, loss: 0.1 }),
    [PASS.addSlot]: () => slotAgg.add({ bankId: `bank-${k}`, delta: slot, numExamples: 1000, loss: 0.1 }),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((name) => [name, []]));
  // Two warm-up sweeps, then `reps` timed ones; each aggregation gets one update (a new bank) per sweep.
  for (let r = -2; r < reps; r++) {
    k = r + 2;
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      fn();
      const ms = performance.now() - t0;
      if (r >= 0) times[name]!.push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, median(xs)]));
}

/** Parameters of the out-of-cache kernel rows: sum + update = 96 MB, three times the 32 MB L3. */
const BIG_PARAMS = 8_000_000;

/**
 * The accumulate step alone (`Accumulator.add` on its own slot: finiteness check + accumulate,
 * 24 bytes of traffic per parameter), JS vs wasm, interleaved, at 1M parameters (in L3) and 8M
 * (out of cache, so bound by DRAM like the streaming copy). Milliseconds per add, every add.
 */
function kernelAlone(reps: number): { n: number; kind: 'js' | 'wasm'; ms: number[] }[] {
  const out: { n: number; kind: 'js' | 'wasm'; ms: number[] }[] = [];
  for (const n of [PARAMS, BIG_PARAMS]) {
    const rng = createRng(n);
    const x = Float32Array.from({ length: n }, () => rng.normal());
    const accs = (['js', 'wasm'] as const).map((kind) => {
      const acc = createAccumulator(n, kind);
      acc.updateSlot().set(x);
      acc.add(acc.updateSlot(), 0.5); // first add: pages in
      return { kind, acc, ms: [] as number[] };
    });
    for (let r = -1; r < reps; r++) {
      for (const a of accs) {
        const slot = a.acc.updateSlot();
        const t0 = performance.now();
        a.acc.add(slot, 0.25);
        if (r >= 0) a.ms.push(performance.now() - t0);
      }
    }
    for (const a of accs) out.push({ n, kind: a.acc.kind, ms: a.ms });
  }
  return out;
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
  for (let round = 0; round < 3; round++) for (const mode of MODES) runOnce(mode, 10, base, frames);
  const counts = ctx.quick ? [10, 100] : COUNTS;
  const repeats = ctx.quick ? 1 : 3;
  const figures = new Map<string, RunFigures[]>();
  const key = (mode: Mode, n: number) => `${mode} ${n}`;
  const stream: number[] = [];
  // Interleaved: reference, then each size on each path, `repeats` times over.
  for (let r = 0; r < repeats; r++) {
    stream.push(streamingCopyBytesPerSecond(copySrc, copyDst));
    for (const n of counts) {
      for (const mode of MODES) {
        ctx.log(`repeat ${r + 1}/${repeats}: ${n} updates, ${mode}`);
        const f = runOnce(mode, n, base, frames);
        figures.set(key(mode, n), [...(figures.get(key(mode, n)) ?? []), f]);
      }
      stream.push(streamingCopyBytesPerSecond(copySrc, copyDst));
    }
  }
  const streamMedian = median(stream);
  const traffic = (f: RunFigures) => (f.bytesPerSecond * ADD_BYTES[f.mode]) / 4;

  const rows: Row[] = [];
  for (const n of counts) {
    for (const mode of MODES) {
      const fs = figures.get(key(mode, n))!;
      const last = fs[fs.length - 1]!;
      rows.push({
        updates: num(n),
        path: mode,
        'decode ms/update': range(fs.map((f) => f.decodeMsMedian)),
        'add ms/update': range(fs.map((f) => f.addMsMedian)),
        'add, update GB/s': range(fs.map((f) => f.bytesPerSecond / 1e9)),
        'add traffic / streaming %': range(
          fs.map((f) => (100 * traffic(f)) / streamMedian),
          0,
        ),
        'finish ms': num(median(fs.map((f) => f.finishMs)), 1),
        'accumulator after begin / last add': `${bytes(last.ownBytesAtBegin)} / ${bytes(last.ownBytesAtEnd)}`,
        'map/set entries': num(last.ownEntries),
        'ArrayBuffer / heap growth': `${bytes(last.arrayBufferGrowth)} / ${bytes(last.heapGrowth)}`,
        'peak RSS': bytes(Math.max(...fs.map((f) => f.peakRss))),
        correct: fs.every((f) => f.correct && f.kernel === (mode === 'js' ? 'js' : 'wasm')) ? 'yes' : 'NO',
      });
    }
  }
  const alone: { n: number; kind: 'js' | 'wasm'; ms: number[] }[] = [];
  const aloneStream: number[] = [];
  for (let r = 0; r < (ctx.quick ? 1 : 3); r++) {
    aloneStream.push(streamingCopyBytesPerSecond(copySrc, copyDst));
    alone.push(...kernelAlone(ctx.quick ? 3 : 5));
  }
  aloneStream.push(streamingCopyBytesPerSecond(copySrc, copyDst));
  const aloneStreamMedian = median(aloneStream);
  const aloneRows: Row[] = [];
  for (const n of [PARAMS, BIG_PARAMS]) {
    for (const kind of ['js', 'wasm'] as const) {
      const ms = alone.filter((a) => a.n === n && a.kind === kind).flatMap((a) => a.ms);
      const gbs = ms.map((m) => (n * ACCUMULATE_BYTES) / (m / 1000) / 1e9);
      aloneRows.push({
        parameters: num(n),
        'working set': bytes(n * 12),
        kernel: kind,
        'ms per add': range(ms),
        'traffic GB/s': range(gbs),
        '% of streaming copy': range(
          gbs.map((g) => (100 * g * 1e9) / aloneStreamMedian),
          0,
        ),
      });
    }
  }
  // Each repeat's median add, then the slowest repeat (as "slowest run" in the first table).
  const bigWasmMs = Math.max(...alone.filter((a) => a.n === BIG_PARAMS && a.kind === 'wasm').map((a) => median(a.ms)));
  const pass = passes(frames, ctx.quick ? 5 : 15);
  const passRows: Row[] = Object.entries(pass).map(([k, ms]) => ({ pass: k, 'ms (median)': num(ms, 2) }));
  const unmask = pass[PASS.unmaskNative] ?? pass[PASS.unmaskJs]!;
  const perUpdate = {
    before: pass[PASS.unmaskJs]! + pass[PASS.decodeFresh]! + pass[PASS.addJs]!,
    js: unmask + pass[PASS.decodeFresh]! + pass[PASS.addJs]!,
    wasm: unmask + pass[PASS.decodeFresh]! + pass[PASS.addWasm]!,
    slot: unmask + pass[PASS.decodeSlot]! + pass[PASS.addSlot]!,
    /**
     * What the aggregator does today with the kernel: decode as a view (a 1M-parameter frame is
     * assembled by ws into a fresh, aligned buffer), the reputation statistics, the add.
     */
    aggregatorNow: unmask + pass[PASS.decodeView]! + pass[PASS.statsCopy]! + pass[PASS.addWasm]!,
  };

  const all = [...figures.values()].flat();
  // Targets are judged on the path the aggregator takes today: 'wasm' (decoded into a fresh
  // array, copied into the kernel's slot by add). 'wasm+slot' shows what decoding straight into
  // the slot would add; the aggregator does not do that yet (it decodes before the serial queue).
  const wiredRuns = all.filter((f) => f.mode === 'wasm');
  const slowestWired = wiredRuns.reduce((a, b) => (b.bytesPerSecond < a.bytesPerSecond ? b : a));
  const byCount = (mode: Mode, n: number) => figures.get(key(mode, n))!.at(-1)!;
  const first = byCount('wasm+slot', counts[0]!);
  const last = byCount('wasm+slot', counts[counts.length - 1]!);
  const targets = [
    target(
      `accumulate step (wasm add, the aggregator's path) traffic / streaming copy, slowest run (${slowestWired.updates} updates)`,
      (100 * traffic(slowestWired)) / streamMedian,
      '>=',
      50,
      '%',
    ),
    target(
      `accumulate kernel out of cache (${num(BIG_PARAMS)} parameters, ${bytes(BIG_PARAMS * 12)}) / streaming copy, slowest repeat's median add`,
      (100 * ((BIG_PARAMS * ACCUMULATE_BYTES) / (bigWasmMs / 1000))) / aloneStreamMedian,
      '>=',
      50,
      '%',
    ),
    target(
      `FedAvg add throughput (wasm, the aggregator's path), slowest run (${slowestWired.updates} updates)`,
      slowestWired.bytesPerSecond / 1e9,
      '>=',
      TARGET_BYTES_PER_SECOND / 1e9,
      'GB/s',
    ),
    target(
      `accumulator memory (wasm+slot), ${num(last.updates)} vs ${first.updates} updates`,
      (last.ownBytesAtEnd - first.ownBytesAtEnd) / 1e6,
      '<=',
      MEMORY_SLACK / 1e6,
      'MB',
    ),
    target(
      `process ArrayBuffer + heap growth (wasm+slot), ${num(last.updates)} vs ${first.updates} updates`,
      (Math.max(0, last.arrayBufferGrowth) +
        Math.max(0, last.heapGrowth) -
        Math.max(0, first.arrayBufferGrowth) -
        Math.max(0, first.heapGrowth)) /
        1e6,
      '<=',
      MEMORY_SLACK / 1e6,
      'MB',
    ),
    target(
      'aggregator CPU per 1M-parameter update as wired: unmask + decode + reputation statistics + wasm add',
      perUpdate.aggregatorNow,
      '<=',
      10,
      'ms',
    ),
  ];
  const notes = [
    `1-minute load average at start: ${load.toFixed(2)}, at end: ${os.loadavg()[0]!.toFixed(2)}. ${repeats} interleaved repeats; cells are min / median / max of each repeat's median (GB/s and % from each repeat's total add time).`,
    `Reference (same process, interleaved): streaming copy of a 64 MB Float64Array, ${range(
      stream.map((x) => x / 1e9),
      2,
    )} GB/s moved (read + write); the % column divides by its median. Add traffic per parameter: ${ACCUMULATE_BYTES} bytes (finite check reads 4, accumulate reads 4 and the float64 sum 8, writes 8), ${ACCUMULATE_BYTES + COPY_IN_BYTES} on the wasm path that first copies the delta into the slot.`,
    `The accumulator's working set (4 MB update + 8 MB sum) fits the 32 MB L3 of the machines here, so the add is not bound by DRAM bandwidth alone; the second table also runs the step alone at ${num(BIG_PARAMS)} parameters (${bytes(BIG_PARAMS * 12)}, out of cache), its cells min / median / max over every add of every repeat.`,
    `Per-update CPU at 1M parameters (medians of the third table): before (JS unmask + decode + JS add) ${num(perUpdate.before, 2)} ms; ${native(pass)} unmask + decode + JS add ${num(perUpdate.js, 2)} ms; + wasm add ${num(perUpdate.wasm, 2)} ms; decoding into the slot + wasm add ${num(perUpdate.slot, 2)} ms (not wired yet). The aggregator as wired today also records each update for the reputation statistics (round-start.ts withStatistics): unmask + decode as a view + that + wasm add ${num(perUpdate.aggregatorNow, 2)} ms (the target).`,
    `model: ${num(PARAMS)} float32 parameters (${bytes(PARAMS * 4)} per update); FedAvg keeps a float64 running sum (${bytes(PARAMS * 8)}), on the wasm path in a WebAssembly memory with the float32 update slot (${bytes(PARAMS * 12)}).`,
  ];
  if (all.some((f) => !f.correct)) notes.push('FedAvg result did NOT match the expected weighted mean!');
  if (all.some((f) => f.kernel !== (f.mode === 'js' ? 'js' : 'wasm')))
    notes.push('A run did not get the accumulator its path asks for (WebAssembly SIMD unavailable?)');
  return {
    tables: [
      { title: `FedAvg on the aggregator's path: decode + add of 1M-parameter update frames, JS vs wasm`, rows },
      {
        title: `The accumulate step alone (finite check + accumulate on the slot), in and out of cache, vs streaming copy (${range(
          aloneStream.map((x) => x / 1e9),
          2,
        )} GB/s)`,
        rows: aloneRows,
      },
      { title: 'CPU per pass over one 1M-parameter update', rows: passRows },
    ],
    targets,
    notes,
    data: {
      params: PARAMS,
      loadAverage: load,
      streamingCopyBytesPerSecond: stream,
      runs: Object.fromEntries(figures),
      passesMs: pass,
      kernelAlone: { runs: alone, streamingCopyBytesPerSecond: aloneStream },
      perUpdateMs: perUpdate,
    },
  };
}

const native = (pass: Record<string, number>) =>
  pass[PASS.unmaskNative] !== undefined ? 'native' : 'JS (bufferutil missing)';

export const aggregation: Benchmark = {
  name: 'aggregation',
  title: 'FedAvg aggregation throughput and memory',
  description:
    'FedAvg decode + add of 10, 100, 1,000 real 1M-parameter update frames, JS vs WebAssembly SIMD accumulate, vs streaming memory copy; per-pass CPU',
  run,
};
