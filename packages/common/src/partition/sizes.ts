/**
 * Bank size shares for the quantity-skewed partitioners (rows for `quantity`, whole
 * customers for `natural-skew`). Two families, as in the non-IID FL benchmarks (Li et al.
 * 2022, "Federated Learning on Non-IID Data Silos: An Experimental Study"; power-law
 * sizes as in LEAF, Caldas et al. 2018):
 * - `dirichlet`: shares ~ Dirichlet(α, …, α); α = 0.5 over 10 banks typically gives one
 *   bank 30–50 % of the rows and several under 2 %; large α approaches equal sizes.
 * - `powerlaw`: share of the bank of rank r ∝ r^(−α), ranks in random bank order (so
 *   bank 1 is not always the largest); small α approaches equal sizes (α must be > 0, as
 *   for `dirichlet`).
 */
import { shuffleInPlace, type Rng } from '../rng/index.js';
import { sampleDirichlet } from './gamma.js';

export type SizeDistribution = 'dirichlet' | 'powerlaw';
export const SIZE_DISTRIBUTIONS: readonly SizeDistribution[] = ['dirichlet', 'powerlaw'];

/**
 * Target size shares of `banks` banks (non-negative, summing to 1). Consumes the rng
 * exactly as quantityPartition always has, so its seeded shards are unchanged.
 * @throws RangeError for banks < 1 or alpha not finite and > 0.
 */
export function sizeShares(banks: number, alpha: number, sizes: SizeDistribution, rng: Rng): number[] {
  if (!Number.isInteger(banks) || banks < 1) throw new RangeError(`banks must be an integer ≥ 1, got ${banks}`);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`alpha must be a finite number > 0, got ${alpha}`);
  if (sizes === 'dirichlet') return Array.from(sampleDirichlet(new Array<number>(banks).fill(alpha), rng));
  if (sizes !== 'powerlaw') throw new RangeError(`sizes must be dirichlet or powerlaw, got "${String(sizes)}"`);
  const w = Array.from({ length: banks }, (_, r) => Math.pow(r + 1, -alpha));
  shuffleInPlace(w, rng);
  const sum = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / sum);
}
