/**
 * Fixes the federation's global standard scaler from the feature statistics banks sent
 * in their hello (count, sum, sum of squares of their training split). It is computed
 * once, before the first round, persisted, and then never changes: the global model's
 * weights only make sense for the scaling they were trained with.
 */
import { mergeScalerStats, scalerFromStats } from '@finsecure/common/data';
import type { FeatureStats, Scaler } from '@finsecure/common/protocol';

export function globalScaler(stats: FeatureStats[], numFeatures: number): { scaler: Scaler; banks: number } {
  const usable = stats.filter((s) => s.count > 0 && s.sum.length === numFeatures);
  if (usable.length === 0) {
    // No statistics: identity scaling, so training still works on pre-scaled data.
    return { scaler: { mean: new Array(numFeatures).fill(0), std: new Array(numFeatures).fill(1) }, banks: 0 };
  }
  const merged = mergeScalerStats(
    usable.map((s) => ({ count: s.count, sum: Float64Array.from(s.sum), sumSq: Float64Array.from(s.sumSq) })),
  );
  const { mean, std } = scalerFromStats(merged);
  return { scaler: { mean: Array.from(mean), std: Array.from(std) }, banks: usable.length };
}
