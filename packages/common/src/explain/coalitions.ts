/**
 * The value function every Shapley explainer here shares: the interventional (marginal)
 * expectation of KernelSHAP (Lundberg & Lee 2017; Janzing et al. 2020),
 *
 *   v(S) = Σ_b w_b · f(x_S, b_S̄)
 *
 * the model's output when the features in S take the transaction's values and the others
 * take a background row's, averaged over the weighted background. v(all) = f(x) and
 * v(∅) = E[f(background)].
 */
import type { Background, Explainable, ModelFunction } from './types.js';

/** Rows handed to the model per call (bounds memory; the MLP is row-by-row anyway). */
const CHUNK_ROWS = 8192;

/** Checks the transaction against the background and returns it as float64. */
export function checkInstance(x: ArrayLike<number>, bg: Background): Float64Array {
  if (x.length !== bg.d) throw new Error(`the transaction has ${x.length} features, the background has ${bg.d}`);
  const out = Float64Array.from(x);
  for (let j = 0; j < out.length; j++)
    if (!Number.isFinite(out[j]!)) throw new Error(`feature ${j} of the transaction is not finite (${out[j]})`);
  return out;
}

/**
 * v(S) for m coalitions given as 0/1 masks (row-major m×d bytes; 1 = the transaction's
 * value). Calls `f` with at most ~8,192 rows at a time. Throws if `f` returns a
 * non-finite value or the wrong number of values.
 */
export function coalitionValues(
  f: ModelFunction,
  x: Float64Array,
  bg: Background,
  masks: Uint8Array,
  m: number,
): Float64Array {
  const { d, n: nb, data: bgData, weights } = bg;
  if (masks.length !== m * d) throw new Error(`expected ${m}×${d} mask values, got ${masks.length}`);
  const perChunk = Math.max(1, Math.floor(CHUNK_ROWS / nb));
  const rows = new Float64Array(Math.min(m, perChunk) * nb * d);
  const v = new Float64Array(m);
  for (let first = 0; first < m; first += perChunk) {
    const count = Math.min(perChunk, m - first);
    let r = 0;
    for (let c = 0; c < count; c++) {
      const mo = (first + c) * d;
      for (let b = 0; b < nb; b++, r++) {
        const ro = r * d;
        const bo = b * d;
        for (let j = 0; j < d; j++) rows[ro + j] = masks[mo + j] ? x[j]! : bgData[bo + j]!;
      }
    }
    const n = count * nb;
    const y = f(n === rows.length / d ? rows : rows.subarray(0, n * d), n);
    if (y.length !== n) throw new Error(`the model returned ${y.length} values for ${n} rows`);
    r = 0;
    for (let c = 0; c < count; c++) {
      let s = 0;
      for (let b = 0; b < nb; b++, r++) {
        const yi = y[r]!;
        if (!Number.isFinite(yi)) throw new Error(`the model returned a non-finite value (${yi})`);
        s += weights[b]! * yi;
      }
      v[first + c] = s;
    }
  }
  return v;
}

/** The model function and coalition evaluator of an Explainable. */
export function resolveModel(model: Explainable): {
  f: ModelFunction;
  values: (x: Float64Array, bg: Background, masks: Uint8Array, m: number) => Float64Array;
} {
  if (typeof model === 'function')
    return { f: model, values: (x, bg, masks, m) => coalitionValues(model, x, bg, masks, m) };
  const values = (x: Float64Array, bg: Background, masks: Uint8Array, m: number): Float64Array => {
    const v = model.coalitionValues(x, bg, masks, m);
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i]!)) throw new Error(`the model returned a non-finite value (${v[i]})`);
    return v;
  };
  return { f: model.logits, values };
}
