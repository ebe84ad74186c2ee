/**
 * Numeric kernels shared by the strategies, the decoder and the anomaly detectors: each a
 * JavaScript function or a WebAssembly SIMD module (packages/common/wasm/*.wat, built by
 * scripts/build-wasm.mjs) with a JavaScript fallback that computes the same values bit for bit.
 */
export { createAccumulator, type Accumulator } from './accumulate.js';
export { firstNonFiniteIndex, sumOfSquares } from './sum-squares.js';
export { setWasmKernelsEnabled } from './wasm/instance.js';
