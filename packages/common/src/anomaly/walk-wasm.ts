/**
 * The Isolation Forest walk in WebAssembly (kernel source: packages/common/wasm/iforest.wat,
 * built by scripts/build-wasm.mjs). Each forest gets its own instance and memory, which
 * holds the trees (copied once) and one block of rows at a time:
 *
 *   [ feat i32[T·(2^L−1)] | thr f64[T·(2^L−1)] | leaf f64[T·2^L] | block f64[B·d] | depth f64[B] ]
 *
 * Rows are copied into the block as float64 (a float32 value converts exactly), so the
 * comparisons and additions are those of walk-js.ts, in the same order: the depths are
 * bit-identical (test/anomaly-iforest-walk.test.ts). The block is B = 512 rows, a multiple
 * of the kernel's eight interleaved walks; the last block is padded with stale, finite
 * rows whose depths are discarded.
 */
import type { IsolationForestTrees } from './isolation-forest.js';
import type { Matrix } from './matrix.js';
import type { Walker } from './walk-js.js';
import { iforestWasmModule } from '../kernels/wasm/iforest.wasm.js';
import { createMemory, instantiateKernel } from '../kernels/wasm/instance.js';

const BLOCK = 512;
/** Trees larger than this (ψ far above the default 256) stay on the JavaScript walk. */
const MAX_BYTES = 256 * 1024 * 1024;

interface KernelExports {
  walk(
    feat: number,
    thr: number,
    leaf: number,
    data: number,
    depth: number,
    rows: number,
    cols: number,
    trees: number,
    L: number,
  ): void;
}

/**
 * A walker over `trees` backed by the WebAssembly kernel, or null where the kernel is
 * unavailable (kernels/wasm/instance.ts: no WebAssembly, or kernels turned off) or the trees
 * would need more than 256 MB of kernel memory; the caller then uses walkJs.
 */
export function wasmWalker(trees: IsolationForestTrees): Walker | null {
  const module = iforestWasmModule();
  if (!module) return null;
  const { numTrees, heightLimit: L, numFeatures: d } = trees;
  const featBytes = trees.splitFeature.byteLength;
  const thrOff = Math.ceil(featBytes / 8) * 8;
  const leafOff = thrOff + trees.threshold.byteLength;
  const blockOff = leafOff + trees.leafValue.byteLength;
  const depthOff = blockOff + BLOCK * d * 8;
  const total = depthOff + BLOCK * 8;
  if (total > MAX_BYTES) return null;
  const memory = createMemory(total);
  if (!memory) return null; // no room for the instance: the JavaScript walk needs none
  const kernel = instantiateKernel<KernelExports>(module, { env: { memory } });
  // The memory never grows (createMemory), so these views stay valid.
  const buffer = memory.buffer;
  new Int32Array(buffer, 0, trees.splitFeature.length).set(trees.splitFeature);
  new Float64Array(buffer, thrOff, trees.threshold.length).set(trees.threshold);
  new Float64Array(buffer, leafOff, trees.leafValue.length).set(trees.leafValue);
  const block = new Float64Array(buffer, blockOff, BLOCK * d);
  const blockDepth = new Float64Array(buffer, depthOff, BLOCK);
  return (x: Matrix, depth: Float64Array): void => {
    for (let start = 0; start < x.rows; start += BLOCK) {
      const n = Math.min(BLOCK, x.rows - start);
      block.set(x.data.subarray(start * d, (start + n) * d));
      blockDepth.set(depth.subarray(start, start + n));
      const padded = Math.ceil(n / 8) * 8;
      kernel.walk(0, thrOff, leafOff, blockOff, depthOff, padded, d, numTrees, L);
      depth.set(blockDepth.subarray(0, n), start);
    }
  };
}
