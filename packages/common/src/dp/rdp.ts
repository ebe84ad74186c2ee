/**
 * Rényi-DP accounting for the (non-subsampled) Gaussian mechanism.
 *
 * One release of clip(update) + N(0, (Z·C)²·I) has RDP ε(α) = α / (2Z²) at every order
 * α > 1 (Mironov 2017, Prop. 7) for neighbours whose clipped updates differ by at most C
 * in L2 (see docs/dp-accountant-reference.md for which neighbours those are). RDP
 * composes by addition, so the accountant keeps one running total per order and
 * converts to (ε, δ) on demand, minimising over a fixed grid of orders.
 *
 * Sampling rate is 1: a bank's whole data set is used in every round it takes part in,
 * and selection is known to the aggregator, so no amplification by subsampling is
 * claimed.
 */
import { z } from 'zod';

/**
 * Orders α: fine steps near 1 (large-ε regime: few rounds of little noise), every
 * integer up to 64 (the usual range), then sparser up to 4096 (small-ε regime: the best
 * order is ≈ 1 + Z·√(2·log(1/δ)/T), e.g. ≈ 480 for Z = 100, T = 1, δ = 1e-5).
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 79 }, (_, i) => 1 + (i + 1) / 20), // 1.05 … 4.95
  ...Array.from({ length: 60 }, (_, i) => i + 5), // 5 … 64
  72,
  80,
  96,
  112,
  128,
  160,
  192,
  224,
  256,
  320,
  384,
  448,
  512,
  640,
  768,
  896,
  1024,
  1536,
  2048,
  3072,
  4096,
]);

/**
 * How RDP becomes (ε, δ):
 * - 'balle2020' (default): ε = rdp + log((α−1)/α) − (log δ + log α)/(α−1), with ε = 0
 *   when δ ≥ √(1 − e^{−rdp}) (Balle et al. 2020, Thm 21; Canonne, Kamath & Steinke
 *   2020). What Google's dp_accounting and Opacus use; always at least as tight as:
 * - 'mironov2017': ε = rdp + log(1/δ)/(α−1) (Mironov 2017, Prop. 3), the classic bound.
 */
export type RdpConversion = 'balle2020' | 'mironov2017';

export interface EpsilonResult {
  epsilon: number;
  /** The order at which the minimum was reached. */
  order: number;
}

/** RDP of one Gaussian release with noise multiplier Z at order α: α / (2Z²). */
export function gaussianRdp(noiseMultiplier: number, order: number): number {
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0))
    throw new Error(`noiseMultiplier must be a non-negative finite number, got ${noiseMultiplier}`);
  if (!(order > 1)) throw new Error(`RDP order must be > 1, got ${order}`);
  return noiseMultiplier === 0 ? Infinity : order / (2 * noiseMultiplier * noiseMultiplier);
}

/** Convert an RDP curve (values at `orders`) to the smallest ε over the grid at `delta`. */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
  conversion: RdpConversion = 'balle2020',
): EpsilonResult {
  if (!(delta > 0 && delta < 1)) throw new Error(`delta must be in (0, 1), got ${delta}`);
  if (orders.length !== rdp.length || orders.length === 0)
    throw new Error('orders and rdp must be non-empty and of equal length');
  let best: EpsilonResult = { epsilon: Infinity, order: orders[0]! };
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!;
    const r = rdp[i]!;
    if (!(r >= 0)) throw new Error(`RDP values must be >= 0, got ${r} at order ${a}`);
    let eps: number;
    if (conversion === 'mironov2017') {
      eps = r + Math.log(1 / delta) / (a - 1);
    } else if (delta * delta + Math.expm1(-r) >= 0) {
      eps = 0; // total variation ≤ √(1 − e^{−KL}) ≤ δ: (0, δ)-DP already
    } else if (a > 1.01) {
      eps = r + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    } else {
      eps = Infinity; // numerically unstable as α → 1, and never the minimiser there
    }
    if (eps < best.epsilon) best = { epsilon: Math.max(0, eps), order: a };
  }
  return best;
}

/** Serialised accountant. JSON has no Infinity: null stands for +∞ (a release with Z = 0). */
export const RdpAccountantState = z
  .object({
    version: z.literal(1),
    orders: z.array(z.number().gt(1).finite()).min(1),
    rdp: z.array(z.number().nonnegative().finite().nullable()),
    releases: z.number().int().nonnegative(),
  })
  .refine((s) => s.orders.length === s.rdp.length, { message: 'orders and rdp must have the same length' });
export type RdpAccountantState = z.infer<typeof RdpAccountantState>;

export class RdpAccountant {
  readonly orders: readonly number[];
  private readonly rdp: Float64Array;
  private count = 0;

  constructor(orders: readonly number[] = DEFAULT_RDP_ORDERS) {
    if (orders.length === 0) throw new Error('an RDP accountant needs at least one order');
    for (const a of orders)
      if (!(Number.isFinite(a) && a > 1)) throw new Error(`RDP orders must be finite and > 1, got ${a}`);
    this.orders = Object.freeze([...orders]);
    this.rdp = new Float64Array(orders.length);
  }

  /** Number of releases recorded. */
  get releases(): number {
    return this.count;
  }

  /** The accumulated RDP curve (a copy). */
  get rdpCurve(): Float64Array {
    return Float64Array.from(this.rdp);
  }

  /**
   * Record `count` Gaussian releases with noise multiplier Z. Z = 0 (no noise) is
   * recorded as infinite RDP: from then on ε is Infinity, which is the truth.
   */
  addGaussian(noiseMultiplier: number, count = 1): this {
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`count must be a non-negative integer, got ${count}`);
    if (count === 0) return this; // 0 × Infinity would be NaN
    for (let i = 0; i < this.orders.length; i++) this.rdp[i] += count * gaussianRdp(noiseMultiplier, this.orders[i]!);
    this.count += count;
    return this;
  }

  /** (ε, δ) spent so far. */
  epsilon(delta: number, conversion: RdpConversion = 'balle2020'): EpsilonResult {
    if (this.count === 0) return { epsilon: 0, order: this.orders[0]! };
    return rdpToEpsilon(this.orders, this.rdp, delta, conversion);
  }

  /**
   * Would ONE more release with noise multiplier Z take ε above `budget`? Ask before
   * every round; a bank that gets `true` declines the round, so ε never exceeds the
   * budget.
   */
  wouldExceed(
    noiseMultiplier: number,
    delta: number,
    budget: number,
    conversion: RdpConversion = 'balle2020',
  ): boolean {
    return this.epsilonAfter(noiseMultiplier, 1, delta, conversion) > budget;
  }

  /** How many more releases with noise multiplier Z fit within `budget` (capped at 10^9). */
  remainingReleases(
    noiseMultiplier: number,
    delta: number,
    budget: number,
    conversion: RdpConversion = 'balle2020',
  ): number {
    const fits = (k: number) => this.epsilonAfter(noiseMultiplier, k, delta, conversion) <= budget;
    if (!fits(0)) return 0;
    // ε grows with k: double, then bisect the last gap.
    let lo = 0;
    let hi = 1;
    while (fits(hi)) {
      lo = hi;
      hi *= 2;
      if (hi > 1e9) return 1e9;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  toJSON(): RdpAccountantState {
    return {
      version: 1,
      orders: [...this.orders],
      rdp: Array.from(this.rdp, (r) => (r === Infinity ? null : r)),
      releases: this.count,
    };
  }

  static fromJSON(json: unknown): RdpAccountant {
    const s = RdpAccountantState.parse(json);
    const acc = new RdpAccountant(s.orders);
    s.rdp.forEach((r, i) => (acc.rdp[i] = r === null ? Infinity : r));
    acc.count = s.releases;
    return acc;
  }

  private epsilonAfter(noiseMultiplier: number, k: number, delta: number, conversion: RdpConversion): number {
    if (this.count + k === 0) return 0;
    const rdp = this.orders.map((a, i) => this.rdp[i]! + (k === 0 ? 0 : k * gaussianRdp(noiseMultiplier, a)));
    return rdpToEpsilon(this.orders, rdp, delta, conversion).epsilon;
  }
}
