/**
 * The per-pass split of one 1M-parameter update (issue 14 item 4: unmask, decode, statistics, add on
 * each path) and the accumulate step alone, JS vs wasm, in and out of cache: the second and third
 * tables of the `aggregation` benchmark (aggregation.ts).
 */
import { createRequire } from 'node:module';
import { createAccumulator, sumOfSquares } from '@finsecure/common/kernels';
import { decodeClientMessage } from '@finsecure/common/protocol';
import { withUpdateStatistics } from '@finsecure/common/strategy';
import { createRng } from '@finsecure/common/rng';
import { median } from './lib.js';
import { beginRound, PARAMS } from './aggregation-runs.js';

/** The same byte loop as `ws` 8 (lib/buffer-util.js `_unmask`) when bufferutil is not installed. */
function unmaskJs(buffer: Uint8Array, mask: Uint8Array): void {
  for (let i = 0; i < buffer.length; i++) buffer[i] ^= mask[i & 3]!;
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

export const PASS = {
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
export function passes(frames: Uint8Array[], reps: number): Record<string, number> {
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
export const BIG_PARAMS = 8_000_000;

/**
 * The accumulate step alone (`Accumulator.add` on its own slot: finiteness check + accumulate,
 * 24 bytes of traffic per parameter), JS vs wasm, interleaved, at 1M parameters (in L3) and 8M
 * (out of cache, so bound by DRAM like the streaming copy). Milliseconds per add, every add.
 */
export function kernelAlone(reps: number): { n: number; kind: 'js' | 'wasm'; ms: number[] }[] {
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
