/**
 * The FedAvg accumulate step, sum[i] += w · x[i] (x float32, sum float64), with the finiteness
 * check that must pass before the sum is touched, as a WebAssembly SIMD kernel
 * (packages/common/wasm/accumulate.wat) with a JavaScript fallback.
 *
 * Why a kernel: the JS loop tops out near 2.2 GB/s of update bytes, far below the machine's
 * streaming bandwidth (issue 14 item 3); f64x2 SIMD does two values per instruction with no
 * bounds checks, and the loop is then bound by memory.
 *
 * Bit for bit: both paths promote x[i] to float64 (exact), multiply by w and add to the sum, two
 * separately rounded IEEE 754 operations per value, each value independently (tested on random
 * and edge-case data, `kernels-accumulate.test.ts`). The first add stores 0 + w·x without reading
 * the sum (its pages fault in once, for the write).
 *
 * Memory (wasm path): one WebAssembly memory per accumulator, allocated once at creation with its
 * final size (never grown, so the views below are never detached):
 *
 *   [ sum f64[n] | update f32[n] ]      8n + 4n bytes, n ≤ 357,913,941 (4 GiB); above, the JS path
 *
 * The update slot is where the update must be for the kernel to read it: `updateSlot()` gives it
 * as a Float32Array, so a decoder can write the update there directly (one copy out of the frame,
 * `decodeFrame`'s `floatTarget`); any other Float32Array passed to `add` is first copied into it.
 */
import { createMemory, instantiateKernel } from './wasm/instance.js';
import { accumulateWasmModule } from './wasm/accumulate.wasm.js';

export interface Accumulator {
  /** Number of values. */
  readonly length: number;
  /** Which implementation runs ('wasm' or the 'js' fallback). */
  readonly kind: 'wasm' | 'js';
  /** The running float64 sum, length n (a live view: read it, do not keep it past the accumulator). */
  readonly sum: Float64Array;
  /**
   * A float32 buffer of length n that `add` reads without copying: write an update here (e.g. decode
   * it here), then pass this same array to `add`. Overwritten by the next `add` of another array.
   */
  updateSlot(): Float32Array;
  /**
   * If every x[i] is finite: sum[i] += w · x[i] for all i (sum[i] = 0 + w · x[i] on the first
   * successful add) and returns -1. Otherwise leaves the sum untouched and returns the index of the
   * first NaN or ±Infinity. Throws if x.length ≠ n.
   */
  add(x: Float32Array, w: number): number;
  /**
   * Starts a new sum: the next successful `add` stores 0 + w · x instead of adding, so the old
   * values are never read (no zeroing pass) and the memory is reused with its pages already
   * mapped. For reusing one accumulator round after round.
   */
  reset(): void;
}

interface KernelExports {
  axpy(acc: number, x: number, n: number, w: number): void;
  scale(acc: number, x: number, n: number, w: number): void;
  all_finite(x: number, n: number): number;
}

/** Largest n whose 12n bytes fit a 32-bit memory. */
const MAX_WASM_LENGTH = Math.floor(2 ** 32 / 12);

/**
 * An accumulator of n values (sum all zeros), on the WebAssembly kernel where the runtime supports
 * WebAssembly SIMD and the memory can be had, else on the JavaScript path. `prefer: 'js'` forces the
 * latter (tests, A/B benchmarks).
 */
export function createAccumulator(n: number, prefer: 'wasm' | 'js' = 'wasm'): Accumulator {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new Error(`accumulator length must be an integer >= 0, got ${n}`);
  return (prefer === 'wasm' && wasmAccumulator(n)) || new JsAccumulator(n);
}

function checkLength(x: Float32Array, n: number): void {
  if (x.length !== n) throw new Error(`accumulate: update has ${x.length} values, the sum has ${n}`);
}

function firstNonFinite(x: Float32Array): number {
  const n = x.length;
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}

/**
 * Index of the first NaN or ±Infinity in `d`, or −1 when every value is finite: one fast pass
 * (x · 0 is 0 for every finite x and NaN otherwise, summed in four independent chains with the
 * length read once: after the first ArrayBuffer detach in the process, V8 re-checks `d.length`
 * on every read of an `i < d.length` loop), then the slow search only when something is wrong.
 */
export function findNonFinite(d: Float32Array): number {
  const n = d.length;
  const n4 = n - (n % 4);
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    p0 += d[i]! * 0;
    p1 += d[i + 1]! * 0;
    p2 += d[i + 2]! * 0;
    p3 += d[i + 3]! * 0;
  }
  for (; i < n; i++) p0 += d[i]! * 0;
  return p0 + p1 + p2 + p3 === 0 ? -1 : firstNonFinite(d);
}

function wasmAccumulator(n: number): Accumulator | null {
  if (n > MAX_WASM_LENGTH) return null;
  const module = accumulateWasmModule();
  if (!module) return null;
  const xOffset = 8 * n; // 8-byte aligned; SIMD loads need no alignment anyway
  const memory = createMemory(xOffset + 4 * n);
  if (!memory) return null;
  const k = instantiateKernel<KernelExports>(module, { env: { memory } });
  const sum = new Float64Array(memory.buffer, 0, n);
  const slot = new Float32Array(memory.buffer, xOffset, n);
  let empty = true;
  return {
    length: n,
    kind: 'wasm',
    sum,
    updateSlot: () => slot,
    add(x, w) {
      checkLength(x, n);
      if (x !== slot) slot.set(x);
      if (k.all_finite(xOffset, n) !== 1) return firstNonFinite(slot);
      if (empty) k.scale(0, xOffset, n, w);
      else k.axpy(0, xOffset, n, w);
      empty = false;
      return -1;
    },
    reset() {
      empty = true;
    },
  };
}

/**
 * The JavaScript path: the loops FedAvg had before the kernel. Length read once and unrolled by
 * 4: after the first ArrayBuffer detach in a process V8 re-checks `length` on every read of a loop
 * bound (bench/RESULTS.md, Aggregation). The finiteness probe sums x · 0 (0 for finite x, NaN for
 * NaN and ±Infinity) in four independent chains.
 */
class JsAccumulator implements Accumulator {
  readonly kind = 'js';
  readonly sum: Float64Array;
  private slot: Float32Array | null = null;
  private empty = true;

  constructor(readonly length: number) {
    this.sum = new Float64Array(length);
  }

  updateSlot(): Float32Array {
    return (this.slot ??= new Float32Array(this.length));
  }

  reset(): void {
    this.empty = true;
  }

  add(d: Float32Array, f: number): number {
    const n = this.length;
    checkLength(d, n);
    const bad = findNonFinite(d);
    if (bad >= 0) return bad;
    const n4 = n - (n % 4);
    const s = this.sum;
    let i = 0;
    if (this.empty) {
      for (; i < n4; i += 4) {
        s[i] = 0 + f * d[i]!;
        s[i + 1] = 0 + f * d[i + 1]!;
        s[i + 2] = 0 + f * d[i + 2]!;
        s[i + 3] = 0 + f * d[i + 3]!;
      }
      for (; i < n; i++) s[i] = 0 + f * d[i]!;
    } else {
      for (; i < n4; i += 4) {
        s[i] += f * d[i]!;
        s[i + 1] += f * d[i + 1]!;
        s[i + 2] += f * d[i + 2]!;
        s[i + 3] += f * d[i + 3]!;
      }
      for (; i < n; i++) s[i] += f * d[i]!;
    }
    this.empty = false;
    return -1;
  }
}
