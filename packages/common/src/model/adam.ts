/**
 * Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1) on a
 * flat Float32Array of weights, in plain JavaScript: for 4,097 parameters a step is a few
 * microseconds, where `tf.train.adam` launches ~14 kernels per variable. Same update as
 * `tf.train.adam(lr)` with the TF.js / Keras defaults (β1 0.9, β2 0.999, ε 1e-7, ε added to
 * √v̂), checked step for step against it in test/model-trainer.test.ts.
 */

/** Adam's hyper-parameters: the TF.js / Keras defaults. */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

export interface AdamState {
  learningRate: number;
  /** First and second moment estimates, one per weight. */
  m: Float32Array;
  v: Float32Array;
  /** β1^t and β2^t after t steps (TF.js keeps the same running products). */
  beta1Power: number;
  beta2Power: number;
}

/** Fresh moments (all zero, t = 0) for `size` weights. */
export function createAdam(size: number, learningRate: number): AdamState {
  return { learningRate, m: new Float32Array(size), v: new Float32Array(size), beta1Power: 1, beta2Power: 1 };
}

/**
 * One step: updates `params` in place from `grad` (same length as the state's moments) and
 * advances the state. Bias-corrected: p ← p − lr · m̂ / (√v̂ + ε).
 */
export function adamStep(st: AdamState, params: Float32Array, grad: Float32Array): void {
  st.beta1Power *= BETA1;
  st.beta2Power *= BETA2;
  const c1 = 1 - st.beta1Power;
  const c2 = 1 - st.beta2Power;
  const lr = st.learningRate;
  const { m, v } = st;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!;
    const mi = BETA1 * m[i]! + (1 - BETA1) * g;
    const vi = BETA2 * v[i]! + (1 - BETA2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + EPSILON);
  }
}
