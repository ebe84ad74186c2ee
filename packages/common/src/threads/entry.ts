/**
 * How to start a worker thread whose module sits beside the caller's: the built `.js` when the
 * caller runs from dist/, or, from sources (vitest, tsx), a two-line bootstrap that registers tsx's
 * ESM hooks in the worker (hooks of the parent thread do not reach workers in Node 20) and
 * imports the `.ts`. A bootstrap whose import fails posts `{ ready: false, error }`, so the
 * parent learns why instead of waiting.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerEntry {
  /** The module's URL, or the bootstrap's code. */
  file: URL | string;
  /** True for the bootstrap: pass as the Worker's `eval` option. */
  eval: boolean;
}

/**
 * @param here the caller's `import.meta.url`
 * @param name the worker module's file name without extension, beside `here` (e.g. 'report-worker')
 * @throws Error when neither `<name>.js` nor `<name>.ts` is there
 */
export function workerEntry(here: string, name: string): WorkerEntry {
  const js = new URL(`./${name}.js`, here);
  if (existsSync(fileURLToPath(js))) return { file: js, eval: false };
  const ts = new URL(`./${name}.ts`, here);
  if (!existsSync(fileURLToPath(ts))) throw new Error(`worker ${name} not found next to ${here}`);
  // tsx is a dev dependency; dist/ never takes this path.
  // require.resolve gives the CommonJS entry (index.cjs); the ESM one sits beside it.
  const api = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const code =
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })` +
    `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ ready: false, error: String(e) }); });`;
  return { file: code, eval: true };
}
