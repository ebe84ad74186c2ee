/**
 * Fixes the federation's global standard scaler from the feature statistics banks sent
 * in their hello (count, mean and M2 = Σ(x − mean)² of their training split). They are
 * merged with Chan, Golub & LeVeque's parallel formula (`mergeScalerStats`), which does
 * not cancel when a feature's mean is large against its spread. The scaler is computed
 * once, before the first round, persisted, and then never changes: the global model's
 * weights only make sense for the scaling they were trained with.
 */
import { mergeScalerStats, scalerFromStats } from '@finsecure/common/data';
import type { FeatureStats, Scaler } from '@finsecure/common/protocol';
import type { FeatureStatsTolerances } from '../trust/feature-bands.js';
import { combineFeatureStats, type BankFeatureStats, type CombinedFeatureStats } from '../trust/feature-stats.js';

/**
 * Merges the banks' statistics into one scaler (mean, population std per feature).
 * Statistics with count 0 or another feature count are left out; with none left the
 * scaler is the identity. `banks` is how many banks' statistics were used. Trusts every
 * value: for statistics sent by banks use `robustGlobalScaler` below (issue 12, A1).
 */
export function globalScaler(stats: FeatureStats[], numFeatures: number): { scaler: Scaler; banks: number } {
  const usable = stats.filter((s) => s.count > 0 && s.mean.length === numFeatures && s.m2.length === numFeatures);
  if (usable.length === 0) {
    // No statistics: identity scaling, so training still works on pre-scaled data.
    return { scaler: { mean: new Array(numFeatures).fill(0), std: new Array(numFeatures).fill(1) }, banks: 0 };
  }
  const merged = mergeScalerStats(
    usable.map((s) => ({ count: s.count, mean: Float64Array.from(s.mean), m2: Float64Array.from(s.m2) })),
  );
  const { mean, std } = scalerFromStats(merged);
  return { scaler: { mean: Array.from(mean), std: Array.from(std) }, banks: usable.length };
}

/**
 * The scaler from the banks' statistics, trusting each only as far as it is plausible
 * (trust/feature-stats.ts `combineFeatureStats`): a bank whose statistics fail the
 * checks is left out and named in `excluded` (with the feature at fault), small banks are
 * clamped into the consortium's bands, the rest merged with Chan's formula. Use this, not
 * `globalScaler`, for statistics that come from banks. With no usable bank the scaler is
 * the identity and `banks` is empty: the caller should then wait for more banks rather
 * than fix it (the scaler is kept for the life of the federation).
 */
export function robustGlobalScaler(
  perBank: readonly BankFeatureStats[],
  numFeatures: number,
  options: FeatureStatsTolerances & { maxMagnitude?: number } = {},
): { scaler: Scaler } & Omit<CombinedFeatureStats, 'scaler' | 'used'> & { banks: string[] } {
  const c = combineFeatureStats(perBank, { ...options, numFeatures });
  const scaler = c.scaler ?? { mean: new Array(numFeatures).fill(0), std: new Array(numFeatures).fill(1) };
  return {
    scaler,
    banks: c.used,
    excluded: c.excluded,
    clamped: c.clamped,
    robust: c.robust,
    examples: c.examples,
  };
}
