/**
 * The FedAvg runs of the `aggregation` benchmark (aggregation.ts says what it measures and why):
 * real 1M-parameter update frames decoded and added to a FedAvg round on each path (JS, wasm,
 * wasm with the delta already in its slot), with the accumulator's own memory and the process's
 * growth, checked against the exact result; and the streaming-copy reference.
 */
import { setWasmKernelsEnabled } from '@finsecure/common/kernels';
import { decodeClientMessage, encodeClientMessage } from '@finsecure/common/protocol';
import { createStrategy, type Aggregation, type Strategy } from '@finsecure/common/strategy';
import { createRng } from '@finsecure/common/rng';
import { gc, median, ownedMemory, timeSync } from './lib.js';
import { benchRound } from './bench-round.js';

export const PARAMS = 1_000_000;
export const COUNTS = [10, 100, 1000];
export const TARGET_BYTES_PER_SECOND = 1e9;
/** "Independent of the number of updates": (1,000 updates) − (10 updates) below this. */
export const MEMORY_SLACK = 1e6;
/** Bytes the accumulate step moves per parameter: finiteness check reads the delta (4), accumulate reads it (4) and reads and writes the float64 sum (8 + 8). */
export const ACCUMULATE_BYTES = 24;
/** Copying the delta into the kernel's slot first: read 4, write 4. */
export const COPY_IN_BYTES = 8;

export type Mode = 'js' | 'wasm' | 'wasm+slot';
export const MODES: Mode[] = ['js', 'wasm', 'wasm+slot'];
/** Memory traffic per parameter of `add` on each path. */
export const ADD_BYTES: Record<Mode, number> = {
  js: ACCUMULATE_BYTES,
  wasm: ACCUMULATE_BYTES + COPY_IN_BYTES,
  'wasm+slot': ACCUMULATE_BYTES,
};

export interface RunFigures {
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
export function detachOneBuffer(): void {
  const b = new ArrayBuffer(8);
  structuredClone(b, { transfer: [b] });
}

function memory() {
  gc();
  return process.memoryUsage();
}

const FRAMES = 4;

/** Streaming reference: bytes moved (read + write) per second by a native copy of a 64 MB Float64Array. */
export function streamingCopyBytesPerSecond(src: Float64Array, dst: Float64Array): number {
  const ms = median(timeSync(() => dst.set(src), 5, 1));
  return (2 * src.byteLength) / (ms / 1000);
}

export function updateFrames(base: Float32Array): Uint8Array[] {
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

export function beginRound(mode: Mode, updates: number, global: Float32Array): Aggregation {
  const { selected, ctx } = benchRound(updates, global, createRng(1));
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

export function runOnce(mode: Mode, updates: number, base: Float32Array, frames: Uint8Array[]): RunFigures {
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
