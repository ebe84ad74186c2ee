/**
 * Loader for the WebAssembly kernels that scripts/build-wasm.mjs generates from
 * packages/common/wasm/<name>.wat (each `<name>.wasm.ts` exports its bytes and a
 * `<name>WasmModule()` getter built on `compileKernel` below).
 *
 * Synchronous on purpose: the modules are a few hundred bytes to a few KB, and synchronous
 * `new WebAssembly.Module` of a module that small is allowed in Node and in browsers' workers
 * (browsers may refuse large synchronous compiles on the main thread). Nothing in the dashboard
 * or the console imports these files (checked: their src/ imports nothing from
 * @finsecure/common); kernels are reached from `@finsecure/common/strategy`, `/anomaly` and
 * `/kernels`.
 *
 * Fallback: every kernel is fixed-width SIMD (WebAssembly 2.0). Where the runtime has no
 * WebAssembly, or rejects the module (no SIMD support: Node < 16.4, Safari < 16.4, a
 * `--noexpose-wasm` or `--jitless` process), `compileKernel` returns null and the caller uses
 * its JavaScript path, which computes the same values bit for bit (each kernel's tests check
 * both). `setWasmKernelsEnabled(false)` forces that path (tests, A/B benchmarks).
 *
 * Types: neither Node 20's types nor lib ES2023 declare the `WebAssembly` namespace (lib.dom
 * does), so the few parts used here are typed locally and reached through globalThis, instead
 * of a global declaration that would clash with lib.dom in packages that include it.
 */

/** A compiled module (opaque: a `WebAssembly.Module`). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

/** A `WebAssembly.Memory`: `grow` detaches the previous `buffer` (re-create every view after it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

/** Bytes per WebAssembly page. */
export const WASM_PAGE_BYTES = 65_536;
/** 32-bit memories address at most 65,536 pages (4 GiB). */
const MAX_PAGES = 65_536;

const modules = new Map<string, WasmModule | null>();
let enabled = true;

function api(): WasmApi | null {
  const wa = (globalThis as { WebAssembly?: Partial<WasmApi> }).WebAssembly;
  return wa && typeof wa.Module === 'function' && typeof wa.Instance === 'function' && typeof wa.Memory === 'function'
    ? (wa as WasmApi)
    : null;
}

/**
 * Turns every kernel off (false) or back on (true, the default) for this process; returns the
 * previous setting. Off, `compileKernel` returns null and callers take their JavaScript path.
 * Objects created while kernels were on keep their kernel.
 */
export function setWasmKernelsEnabled(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/**
 * The compiled module of kernel `name`, compiled once per process from `bytes()` and cached; null
 * when kernels are disabled, the runtime has no WebAssembly, or it rejects the module (no SIMD).
 * Never throws.
 */
export function compileKernel(name: string, bytes: () => Uint8Array): WasmModule | null {
  if (!enabled) return null;
  if (modules.has(name)) return modules.get(name)!;
  const wa = api();
  let module: WasmModule | null = null;
  if (wa) {
    try {
      module = new wa.Module(bytes());
    } catch {
      module = null; // CompileError: this runtime lacks a feature the kernel uses (SIMD)
    }
  }
  modules.set(name, module);
  return module;
}

/**
 * A memory of at least `bytes` bytes, allocated once (no later `grow`, so views on it are never
 * detached), or null if that is more than a 32-bit memory can address or the allocation fails.
 */
export function createMemory(bytes: number): WasmMemory | null {
  const wa = api();
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  if (!wa || !(pages <= MAX_PAGES)) return null;
  try {
    return new wa.Memory({ initial: pages, maximum: pages });
  } catch {
    return null; // RangeError: out of memory
  }
}

/**
 * Instantiates `module` with `imports` (e.g. `{ env: { memory } }`) and returns its exports,
 * typed by the caller, who must know the kernel's exports. Throws what WebAssembly.Instance
 * throws (LinkError on missing imports).
 */
export function instantiateKernel<T>(module: WasmModule, imports: object): T {
  const wa = api();
  if (!wa) throw new Error('WebAssembly is not available in this runtime');
  return new wa.Instance(module, imports).exports as T;
}
