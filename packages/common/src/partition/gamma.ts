/**
 * Seeded Gamma and Dirichlet sampling for the skewed partitioners. Work is done in log
 * space because Dirichlet(α) with small α (0.01–0.1, i.e. extreme skew) draws Gamma
 * variates so small that they underflow to 0 as plain numbers.
 */
import type { Rng } from '../rng/index.js';

/** log of a Gamma(shape, 1) variate. Marsaglia & Tsang (2000), boosted for shape < 1. */
export function sampleLogGamma(shape: number, rng: Rng): number {
  if (!(shape > 0 && Number.isFinite(shape))) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) {
    // Gamma(a) = Gamma(a + 1) · U^(1/a); 1 − next() is in (0, 1] so the log is finite.
    return sampleLogGamma(shape + 1, rng) + Math.log(1 - rng.next()) / shape;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}

/** A Gamma(shape, 1) variate (may be 0 by underflow for tiny shapes; prefer the log). */
export function sampleGamma(shape: number, rng: Rng): number {
  return Math.exp(sampleLogGamma(shape, rng));
}

/** Proportions ~ Dirichlet(alphas), summing to 1. */
export function sampleDirichlet(alphas: readonly number[], rng: Rng): Float64Array {
  if (alphas.length === 0) throw new RangeError('Dirichlet needs at least one alpha');
  const logs = alphas.map((a) => sampleLogGamma(a, rng));
  const max = Math.max(...logs);
  const p = Float64Array.from(logs, (l) => Math.exp(l - max)); // log-sum-exp normalisation
  const sum = p.reduce((s, x) => s + x, 0);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/**
 * Splits `total` items into integer counts proportional to `p` (largest remainder,
 * ties to the lower index), so counts sum exactly to total.
 */
export function apportion(total: number, p: ArrayLike<number>): number[] {
  const counts = Array.from({ length: p.length }, (_, i) => Math.floor(p[i] * total));
  let left = total - counts.reduce((s, c) => s + c, 0);
  const order = Array.from({ length: p.length }, (_, i) => i).sort(
    (a, b) => p[b] * total - counts[b] - (p[a] * total - counts[a]) || a - b,
  );
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k]]++;
  return counts;
}
