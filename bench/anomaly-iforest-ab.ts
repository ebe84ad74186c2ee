/**
 * Isolation Forest scoring A/B (issue 18 item 5): the JavaScript walk (walk-js.ts) and the
 * WebAssembly kernel (wasm/iforest.wat via walk-wasm.ts) over the same forest and rows,
 * interleaved (JS, wasm, JS, wasm, ...) so that load drifts hit both alike, after one
 * untimed warm-up of each. Only the walk is timed here (scoreSamples adds the input check
 * and the final 2^(−E[h]/c(ψ)), the same for both). Any difference in a depth bit aborts.
 */
import { wasmWalker, walkJs, type IsolationForest, type Matrix } from '@finsecure/common/anomaly';
import { num, type Row } from './lib.js';

export interface IforestAbResult {
  runs: number;
  jsMs: number[];
  wasmMs: number[];
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Times both walks `runs` times each over `x`; throws if the kernel is missing or they disagree. */
export function iforestWalkAb(forest: IsolationForest, x: Matrix, runs: number): IforestAbResult {
  const wasm = wasmWalker(forest.trees);
  if (!wasm) throw new Error('the WebAssembly walk is unavailable on this runtime');
  const js = (depth: Float64Array) => walkJs(forest.trees, x, depth);
  const variants = [js, (depth: Float64Array) => wasm(x, depth)];
  const results = variants.map((walk) => {
    const depth = new Float64Array(x.rows);
    walk(depth);
    return depth;
  });
  if (!sameBits(results[0], results[1])) throw new Error('the JavaScript and WebAssembly walks disagree');
  const times: number[][] = [[], []];
  for (let r = 0; r < runs; r++) {
    variants.forEach((walk, v) => {
      const depth = new Float64Array(x.rows);
      const t0 = performance.now();
      walk(depth);
      times[v].push(performance.now() - t0);
    });
  }
  return { runs, jsMs: times[0], wasmMs: times[1] };
}

/** Table rows: rows/s min / median / max per walk and the speed-up of the medians. */
export function iforestAbRows(ab: IforestAbResult, rows: number, shape: string): Row[] {
  const spread = (ms: number[]) => {
    const s = [...ms].sort((a, b) => a - b);
    const rate = (t: number) => num(rows / (t / 1000));
    return `${rate(s[s.length - 1])} / ${rate(s[s.length >> 1])} / ${rate(s[0])}`;
  };
  const med = (ms: number[]) => [...ms].sort((a, b) => a - b)[ms.length >> 1];
  return [
    { walk: `JavaScript (walk-js.ts), ${shape}`, 'rows/s min / median / max': spread(ab.jsMs), 'speed-up': '' },
    {
      walk: `WebAssembly (wasm/iforest.wat), ${shape}`,
      'rows/s min / median / max': spread(ab.wasmMs),
      'speed-up': `${(med(ab.jsMs) / med(ab.wasmMs)).toFixed(2)}×`,
    },
  ];
}
