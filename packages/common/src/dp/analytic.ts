/**
 * The exact privacy curve of the Gaussian mechanism (Balle & Wang 2018, Theorem 8).
 * A release with L2 sensitivity Δ and noise σ is μ-GDP with μ = Δ/σ = 1/Z, T releases
 * compose to μ = √T / Z (√(Σ 1/Z_t²) for varying Z_t), and the tight δ at a given ε is
 *
 *     δ(ε) = Φ(μ/2 − ε/μ) − e^ε · Φ(−μ/2 − ε/μ).
 *
 * The RDP accountant (rdp.ts) is an upper bound on this; the tests use this curve as an
 * independent reference. Evaluated through the scaled complementary error function
 * erfcx(x) = e^{x²}·erfc(x), because e^ε·Φ(−μ/2 − ε/μ) = ½·e^{−a²/2}·erfcx(b/√2) with
 * a = ε/μ − μ/2, b = ε/μ + μ/2: no overflow of e^ε and no catastrophic tail underflow.
 */

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * erfcx(x) = exp(x²)·erfc(x), relative accuracy ~1e-14 for x ≥ 0. Self-contained
 * (no tables of magic coefficients): a positive-term series for erf below 2, Laplace's
 * continued fraction (modified Lentz) from 2 up.
 */
export function erfcx(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 * Math.exp(x * x) - erfcx(-x);
  if (x === Infinity) return 0;
  if (x < 2) {
    // e^{x²}·erf(x) = (2/√π) Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1)); all terms positive.
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.exp(x * x) - 2 * INV_SQRT_PI * sum;
  }
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return INV_SQRT_PI / f;
}

/** Standard normal CDF Φ(x), accurate in both tails. */
export function normalCdf(x: number): number {
  const tail = 0.5 * erfcx(Math.abs(x) * SQRT1_2) * Math.exp(-0.5 * x * x);
  return x < 0 ? tail : 1 - tail;
}

/** μ of T Gaussian releases with noise multiplier Z: √T / Z (Infinity when Z = 0). */
export function gaussianMu(noiseMultiplier: number, releases = 1): number {
  if (!(noiseMultiplier >= 0)) throw new Error(`noiseMultiplier must be >= 0, got ${noiseMultiplier}`);
  if (!(Number.isInteger(releases) && releases >= 0))
    throw new Error(`releases must be a non-negative integer, got ${releases}`);
  return noiseMultiplier === 0 ? (releases === 0 ? 0 : Infinity) : Math.sqrt(releases) / noiseMultiplier;
}

/** Tight δ(ε) of a μ-GDP mechanism. */
export function gaussianDelta(epsilon: number, mu: number): number {
  if (!(epsilon >= 0)) throw new Error(`epsilon must be >= 0, got ${epsilon}`);
  if (!(mu >= 0)) throw new Error(`mu must be >= 0, got ${mu}`);
  if (mu === 0) return 0;
  if (mu === Infinity || epsilon === Infinity) return mu === Infinity ? 1 : 0;
  const a = epsilon / mu - mu / 2;
  const b = epsilon / mu + mu / 2;
  const scale = 0.5 * Math.exp(-0.5 * a * a);
  const delta =
    a >= 0 ? scale * (erfcx(a * SQRT1_2) - erfcx(b * SQRT1_2)) : 1 - scale * (erfcx(-a * SQRT1_2) + erfcx(b * SQRT1_2));
  return Math.min(1, Math.max(0, delta));
}

/**
 * Smallest ε with δ(ε) ≤ delta for a μ-GDP mechanism (bisection; δ(ε) is decreasing).
 * Returns the upper end of the final bracket, so it never understates ε.
 */
export function gaussianEpsilon(delta: number, mu: number): number {
  if (!(delta > 0 && delta < 1)) throw new Error(`delta must be in (0, 1), got ${delta}`);
  if (!(mu >= 0)) throw new Error(`mu must be >= 0, got ${mu}`);
  if (mu === Infinity) return Infinity;
  if (gaussianDelta(0, mu) <= delta) return 0;
  let lo = 0;
  let hi = 1;
  while (gaussianDelta(hi, mu) > delta) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (gaussianDelta(mid, mu) > delta) lo = mid;
    else hi = mid;
  }
  return hi;
}
