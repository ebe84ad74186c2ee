/**
 * The shared-memory protocol between MlpTrainer (main thread) and its worker threads
 * (parallel-worker.ts). Commands travel through one Int32Array on a SharedArrayBuffer
 * and are awaited with Atomics.wait/notify, not postMessage: a training step of a
 * 256-row batch takes a few hundred µs, and a message round trip through the event
 * loops would cost a large part of that. Large or rarely changing things (the training
 * data, the prediction buffers) are posted on a MessageChannel and picked up
 * synchronously by the worker with receiveMessageOnPort when the LOAD command arrives.
 */
import type { MlpSpec } from './mlp.js';

/** Control words (Int32Array indices). */
export const GEN = 0; // bumped by the main thread for every command
export const CMD = 1;
export const START_ROW = 2; // batch: first row of the batch in `order`
export const ROWS = 3; // batch: rows of the whole batch
export const SEED = 4; // batch: dropout seed of shard 0
export const CHUNK = 5; // predict: chunk rows
export const WITH_LOGITS = 6; // predict: 1 to write logits too
export const PREDICT_ROWS = 7; // predict: rows in all
export const CLAIMS = 8; // predict: unclaimed chunks [lo, hi) packed as lo | hi << 16
export const COPIED_FROM = 9; // predict: first chunk copied into the shared input
/** Per-worker words start at slot(w) = 16 + 8·w: done generation, error flag. */
export const slot = (w: number): number => 16 + 8 * w;
export const DONE = 0;
export const ERROR = 1;
export const controlLength = (workers: number): number => slot(workers);

export const Command = { Batch: 1, Predict: 2, Load: 3, Stop: 4 } as const;

/** What a worker is started with (workerData). */
export interface WorkerInit {
  /** 1-based index of this worker; shard 0 is the main thread's. */
  index: number;
  /** Shards per batch (main thread + workers). */
  shards: number;
  spec: MlpSpec;
  control: SharedArrayBuffer;
  /** Float32 weights, manifest order, written by the main thread before each command. */
  params: SharedArrayBuffer;
  /** Float32 gradients, one parameter-sized block per shard (block 0 unused). */
  grads: SharedArrayBuffer;
  /** Float64 summed loss per shard. */
  losses: SharedArrayBuffer;
}

/** Posted before a Load command; every field optional (only what changed). */
export interface LoadMessage {
  features?: Float32Array;
  labels?: Uint8Array;
  order?: Int32Array;
  /** Largest shard the worker must hold buffers for. */
  maxShardRows?: number;
  /** Prediction input ([rows, d]) and outputs, on SharedArrayBuffers. */
  predictInput?: Float32Array;
  predictProbabilities?: Float32Array;
  predictLogits?: Float32Array;
}

/** Rows [from, to) of shard `shard` of `shards` in a batch of `rows` rows. */
export function shardRange(rows: number, shard: number, shards: number): [number, number] {
  return [Math.floor((shard * rows) / shards), Math.floor(((shard + 1) * rows) / shards)];
}

/**
 * Spins up to `spinMs` for control[index] to differ from `value` before the caller falls
 * back to Atomics.wait. A futex wake-up costs tens of µs (more on a busy machine), and
 * a batch step of a few hundred µs has two of them; a short spin hides both when the
 * other side is about to answer, and gives the core back soon when it is not.
 */
export function spinWhileEqual(control: Int32Array, index: number, value: number, spinMs: number): boolean {
  const end = performance.now() + spinMs;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(control, index) !== value) return true;
    if (performance.now() >= end) return false;
  }
}

/** How long each side spins before sleeping (ms). */
export const SPIN_MS = 0.1;

/**
 * Claims one chunk of a prediction from the low end (main thread) or the high end
 * (workers, only chunks ≥ `minHigh`, those copied into the shared input). Returns the
 * chunk index, or −1 when none is left. A thread that is starved of CPU thus leaves its
 * chunks to the others instead of holding up the whole call.
 */
export function claimChunk(control: Int32Array, fromHigh: boolean, minHigh = 0): number {
  for (;;) {
    const v = Atomics.load(control, CLAIMS);
    const lo = v & 0xffff;
    const hi = v >>> 16;
    if (lo >= hi || (fromHigh && hi - 1 < minHigh)) return -1;
    const next = fromHigh ? lo | ((hi - 1) << 16) : lo + 1 + (hi << 16);
    if (Atomics.compareExchange(control, CLAIMS, v, next) === v) return fromHigh ? hi - 1 : lo;
  }
}
