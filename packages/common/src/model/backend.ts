/**
 * Chooses the TF.js backend at run time. Order: native TensorFlow (`@tensorflow/tfjs-node`,
 * an optionalDependency that cannot install on every machine), then WebAssembly with SIMD
 * (its .wasm files are loaded from the installed package, never from a CDN), then the
 * pure-JS `cpu` backend. The choice is reported so operators can see it in logs and
 * /api/health.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { TrainingBackend } from '../protocol/messages.js';

export interface BackendInfo {
  backend: TrainingBackend;
  /** Why faster backends were not used (empty when the first choice loaded). */
  notes: string[];
}

/** The backend asked for by name (`--backend`, FINSECURE_BACKEND) cannot run here; the message says why. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

let active: Promise<BackendInfo> | null = null;

/** Parses FINSECURE_BACKEND-style preferences; undefined means "best available". */
export function parseBackendPreference(value: string | undefined): TrainingBackend | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (value === 'tensorflow' || value === 'wasm' || value === 'cpu') return value;
  throw new Error(`backend must be one of auto, tensorflow, wasm, cpu; got "${value}"`);
}

async function tryTensorflow(notes: string[], fallback: boolean): Promise<boolean> {
  try {
    // A variable specifier keeps bundlers and tsc from requiring the optional package.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch (err) {
    // Not installed is the usual case (the optional package cannot install everywhere): say so
    // plainly rather than quote the resolver; any other failure is quoted.
    const code = (err as NodeJS.ErrnoException).code;
    notes.push(
      code === 'ERR_MODULE_NOT_FOUND'
        ? `tensorflow: @tensorflow/tfjs-node is not installed (an optional package${fallback ? '; the next backend is used' : ': install it, or choose wasm or cpu'})`
        : `tensorflow: ${(err as Error).message.split('\n')[0]}`,
    );
    return false;
  }
}

async function tryWasm(notes: string[]): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(path.dirname(file) + path.sep);
    // setBackend resolves to false (it does not throw) when initialisation fails.
    const ok = await tf.setBackend('wasm');
    if (!ok) notes.push('wasm: backend failed to initialise');
    return ok;
  } catch (err) {
    notes.push(`wasm: ${(err as Error).message.split('\n')[0]}`);
    return false;
  }
}

async function select(prefer: TrainingBackend | undefined): Promise<BackendInfo> {
  // Production mode: no debug checks and no "use tfjs-node" banner on stderr, which the
  // CLIs keep for real messages. The active backend is reported through BackendInfo.
  tf.env().set('PROD', true);
  const notes: string[] = [];
  const order: TrainingBackend[] = prefer ? [prefer] : ['tensorflow', 'wasm', 'cpu'];
  for (const candidate of order) {
    if (candidate === 'tensorflow' && (await tryTensorflow(notes, !prefer))) break;
    if (candidate === 'wasm' && (await tryWasm(notes))) break;
    if (candidate === 'cpu' && (await tf.setBackend('cpu'))) break;
  }
  await tf.ready();
  const name = tf.getBackend();
  if (name !== 'tensorflow' && name !== 'wasm' && name !== 'cpu') {
    throw new Error(`no usable TF.js backend (${notes.join('; ')})`);
  }
  if (prefer && name !== prefer)
    throw new BackendUnavailableError(`backend "${prefer}" was requested but cannot run: ${notes.join('; ')}`);
  return { backend: name, notes };
}

/**
 * Initialises the backend once per process (later calls return the same result).
 * Pass a preference to force one backend (tests and benchmarks do).
 */
export function initBackend(prefer?: TrainingBackend): Promise<BackendInfo> {
  if (!active) {
    active = select(prefer);
    active.catch(() => {
      active = null;
    });
  }
  return active;
}

/** Switches backend explicitly (benchmarks compare them). */
export async function switchBackend(name: TrainingBackend): Promise<BackendInfo> {
  active = select(name);
  return active;
}
