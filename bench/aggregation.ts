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
import os from 'node:os';
import { createRng } from '@finsecure/common/rng';
import { bytes, median, num, target, type Benchmark, type BenchContext, type BenchResult, type Row } from './lib.js';
import {
  ACCUMULATE_BYTES,
  ADD_BYTES,
  COPY_IN_BYTES,
  COUNTS,
  detachOneBuffer,
  MEMORY_SLACK,
  type Mode,
  MODES,
  PARAMS,
  type RunFigures,
  runOnce,
  streamingCopyBytesPerSecond,
  TARGET_BYTES_PER_SECOND,
  updateFrames,
} from './aggregation-runs.js';
import { BIG_PARAMS, kernelAlone, PASS, passes } from './aggregation-passes.js';

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
