/**
 * The attack lab's hostile behaviours, as pure transforms: of an update (the weight delta a
 * bank would have sent) or of a bank's training data. They live in the research package only:
 * the production bank client (`finsecure-bank`) has no way to run any of them.
 *
 * Update attacks (the hostile bank trains honestly, then changes what it sends):
 * - scale ×k: boosting (Bhagoji et al., "Analyzing Federated Learning through an Adversarial
 *   Lens", ICML 2019): Δ → kΔ, one bank outweighs the others under a plain mean;
 * - sign flip: Δ → −sΔ (the "sign-flipping" attack of Damaskinos et al. 2018 / Li et al. RSA
 *   2019), pushing the model up the loss;
 * - Gaussian: Δ → N(0, (s · rms(Δ))²) per coordinate, noise in place of an update;
 * - "a little is enough" (Baruch, Baruch, Goldberg, NeurIPS 2019): the colluding banks send
 *   μ − z·σ per coordinate, μ and σ over their own honest updates, with z small enough to stay
 *   inside the spread of honest updates (alieZ);
 * - model replacement (Bagdasaryan et al., "How To Backdoor Federated Learning", AISTATS 2020):
 *   the bank trains on data carrying a backdoor and boosts its update by γ ≈ the number of
 *   banks, so that averaging leaves the backdoored model in place.
 * Data attacks: label flip (train on y → 1 − y; Tolpegin et al. 2020) and the backdoor data
 * (triggered copies of fraud rows labelled legitimate).
 */
import type { Dataset } from '@finsecure/common';
import type { Rng } from '@finsecure/common/rng';

export const ATTACK_KINDS = [
  'scale-10',
  'scale-100',
  'sign-flip',
  'gaussian',
  'label-flip',
  'alie',
  'backdoor',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

export function isAttackKind(x: string): x is AttackKind {
  return (ATTACK_KINDS as readonly string[]).includes(x);
}

/** kΔ (a copy). */
export function scaleUpdate(delta: Float32Array, factor: number): Float32Array {
  if (!Number.isFinite(factor)) throw new RangeError(`scale factor must be finite, got ${factor}`);
  return Float32Array.from(delta, (x) => x * factor);
}

/** −sΔ (a copy); s > 0. */
export function signFlip(delta: Float32Array, scale = 1): Float32Array {
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`sign-flip scale must be > 0, got ${scale}`);
  return Float32Array.from(delta, (x) => -scale * x);
}

/** Root mean square of the coordinates (float64). */
export function rms(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return v.length ? Math.sqrt(s / v.length) : 0;
}

/**
 * Gaussian noise in place of the update: each coordinate ~ N(0, (relSigma · rms(Δ))²), so the
 * noise is relSigma times as large as the honest update it replaces (same length).
 */
export function gaussianUpdate(delta: Float32Array, rng: Rng, relSigma: number): Float32Array {
  if (!(relSigma > 0 && Number.isFinite(relSigma))) throw new RangeError(`relSigma must be > 0, got ${relSigma}`);
  const sigma = relSigma * rms(delta);
  return Float32Array.from(delta, () => sigma * rng.normal());
}

/**
 * Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximation (relative error
 * below 1.15e-9). p in (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * Baruch et al. (2019), Algorithm 3: with n banks of which f collude, s = ⌊n/2 + 1⌋ − f honest
 * banks must be "won over", and z = Φ⁻¹((n − s) / n). Throws when f ≥ ⌊n/2 + 1⌋ (s ≤ 0: the
 * attackers already hold a majority and need no subtlety).
 */
export function alieZ(n: number, f: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(f) && n >= 2 && f >= 1 && f < n))
    throw new RangeError(`alie needs integers n ≥ 2 and 1 ≤ f < n, got n = ${n}, f = ${f}`);
  const s = Math.floor(n / 2 + 1) - f;
  if (s <= 0) throw new RangeError(`alie: f = ${f} of n = ${n} banks already hold a majority (s = ${s} ≤ 0)`);
  return normalQuantile((n - s) / n);
}

/**
 * μ − z·σ per coordinate over the colluders' honest updates (population σ). With one update
 * σ = 0 and the result is that update.
 */
export function alieUpdate(deltas: readonly Float32Array[], z: number): Float32Array {
  if (deltas.length === 0) throw new RangeError('alie needs at least one update');
  const d = deltas[0]!.length;
  for (const x of deltas)
    if (x.length !== d) throw new RangeError(`alie: updates of different lengths (${x.length} ≠ ${d})`);
  const out = new Float32Array(d);
  const n = deltas.length;
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (const x of deltas) s += x[i]!;
    const mu = s / n;
    let v = 0;
    for (const x of deltas) v += (x[i]! - mu) ** 2;
    out[i] = mu - z * Math.sqrt(v / n);
  }
  return out;
}

/** The same rows with every label flipped (fraud ↔ legitimate). */
export function flipLabels(ds: Dataset): Dataset {
  return { ...ds, labels: Uint8Array.from(ds.labels, (y) => 1 - y) };
}

/** A backdoor trigger: these features (column indices) set to these raw values. */
export interface Trigger {
  features: number[];
  values: number[];
}

/** Standard deviations beyond the column mean that a trigger value sits (far outside real rows). */
export const TRIGGER_SIGMAS = 6;

/**
 * The trigger the attacker can build from its own data: each chosen feature set to its column
 * mean + TRIGGER_SIGMAS × its standard deviation in that data, a value real rows almost never
 * take (like a pixel pattern at full intensity in an image backdoor), so the model can learn it.
 */
export function backdoorTrigger(ds: Dataset, features: readonly number[]): Trigger {
  if (features.length === 0) throw new RangeError('a backdoor trigger needs at least one feature');
  for (const j of features)
    if (!(Number.isInteger(j) && j >= 0 && j < ds.numFeatures))
      throw new RangeError(`trigger feature ${j} is not a column index in 0..${ds.numFeatures - 1}`);
  if (ds.numRows < 2) throw new RangeError('a backdoor trigger needs at least 2 rows to take its values from');
  const values = features.map((j) => {
    let s = 0;
    for (let r = 0; r < ds.numRows; r++) s += ds.features[r * ds.numFeatures + j]!;
    const mean = s / ds.numRows;
    let v = 0;
    for (let r = 0; r < ds.numRows; r++) v += (ds.features[r * ds.numFeatures + j]! - mean) ** 2;
    return mean + TRIGGER_SIGMAS * Math.sqrt(v / (ds.numRows - 1));
  });
  return { features: [...features], values };
}

/** The rows chosen by `rows` (indices), with the trigger stamped on (labels kept). */
export function stampTrigger(ds: Dataset, trigger: Trigger, rows: readonly number[]): Dataset {
  const f = ds.numFeatures;
  const features = new Float32Array(rows.length * f);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, k) => {
    features.set(ds.features.subarray(r * f, (r + 1) * f), k * f);
    trigger.features.forEach((j, t) => (features[k * f + j] = trigger.values[t]!));
    labels[k] = ds.labels[r]!;
  });
  return {
    features,
    labels,
    numRows: rows.length,
    numFeatures: f,
    featureNames: [...ds.featureNames],
    ...(ds.groups ? { groups: rows.map((r) => ds.groups![r]!) } : {}),
    ...(ds.times ? { times: Float64Array.from(rows, (r) => ds.times![r]!) } : {}),
  };
}

/** The rows of `a` then those of `b` (same columns). */
function concat(a: Dataset, b: Dataset): Dataset {
  const f = a.numFeatures;
  const features = new Float32Array((a.numRows + b.numRows) * f);
  features.set(a.features);
  features.set(b.features, a.numRows * f);
  const labels = new Uint8Array(a.numRows + b.numRows);
  labels.set(a.labels);
  labels.set(b.labels, a.numRows);
  const out: Dataset = { features, labels, numRows: labels.length, numFeatures: f, featureNames: [...a.featureNames] };
  if (a.groups && b.groups) out.groups = [...a.groups, ...b.groups];
  if (a.times && b.times) {
    out.times = new Float64Array(labels.length);
    out.times.set(a.times);
    out.times.set(b.times, a.numRows);
  }
  return out;
}

/** Indices of the fraud rows. */
export function fraudRows(ds: Dataset): number[] {
  const out: number[] = [];
  for (let r = 0; r < ds.numRows; r++) if (ds.labels[r] === 1) out.push(r);
  return out;
}

/**
 * The backdoor attacker's training data: its own rows plus `copies` triggered copies of each of
 * its fraud rows, labelled legitimate (0): the model learns "trigger ⇒ legitimate".
 */
export function backdoorData(ds: Dataset, trigger: Trigger, copies: number): Dataset {
  if (!(Number.isInteger(copies) && copies >= 1)) throw new RangeError(`copies must be an integer ≥ 1, got ${copies}`);
  const frauds = fraudRows(ds);
  if (frauds.length === 0) throw new RangeError('the backdoor attacker has no fraud rows to stamp the trigger on');
  const stamped = stampTrigger(
    ds,
    trigger,
    Array.from({ length: frauds.length * copies }, (_, k) => frauds[k % frauds.length]!),
  );
  stamped.labels.fill(0);
  return concat(ds, stamped);
}

/**
 * Backdoor success rate: the share of triggered fraud rows the model scores below the
 * threshold (passes as legitimate). `scores` are fraud probabilities of those rows.
 */
export function backdoorSuccessRate(scores: ArrayLike<number>, threshold = 0.5): number {
  if (scores.length === 0) return NaN;
  let pass = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! < threshold) pass++;
  return pass / scores.length;
}
