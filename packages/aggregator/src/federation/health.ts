/**
 * Bank health: does a bank's data look like the consortium's, and does the global model
 * fit it? A bank whose features were scaled or encoded differently (another data source,
 * a late joiner after the scaler was fixed) trains with losses far above the others and
 * silently drags the global model down. This module is pure: it compares the bank's
 * mergeable feature statistics (count, mean, M2 from its hello) with the global scaler,
 * and its last training loss with the other banks' median, and says why it flags a bank.
 *
 * Thresholds (documented in the README): a feature is "shifted" when the bank's mean lies
 * more than 1 global standard deviation from the global mean, or its standard deviation
 * is more than 3× larger or smaller than the global one. A bank is flagged when at least
 * a quarter of its features are shifted (never for one odd feature: real banks differ),
 * or when its training loss is more than 3× the median of the other banks and above 0.3.
 */
import type { FeatureStats, Scaler } from '@finsecure/common/protocol';

export interface BankHealth {
  status: 'ok' | 'warning';
  /** One short sentence per finding, for the dashboard, /api/banks and the audit log. */
  reasons: string[];
  /** Share of features whose mean or spread departs from the consortium's (0–1); null without statistics. */
  shiftedFeatureShare: number | null;
  /** This bank's last training loss divided by the median of the other banks'; null if unknown. */
  lossRatio: number | null;
}

export const HEALTH_LIMITS = {
  meanShiftStd: 1,
  stdRatio: 3,
  shiftedShare: 0.25,
  lossRatio: 3,
  minLoss: 0.3,
} as const;

/**
 * Assesses one bank.
 * @param stats the bank's training-split statistics from its hello (per-feature mean, M2 = Σ(x − mean)²).
 * @param scaler the consortium's global scaler (mean, population std per feature); null before it is fixed.
 * @param loss the bank's last reported training loss (mean binary cross-entropy), if any.
 * @param othersLosses the last training losses of the other banks of that round.
 * @param featureNames optional names for the reasons (default "feature j").
 */
function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function assessBank(
  stats: FeatureStats | undefined,
  scaler: Scaler | null,
  loss: number | undefined,
  /** The other banks' losses, or their median already computed (null: none). */
  othersLosses: readonly number[] | { median: number | null },
  featureNames?: readonly string[],
): BankHealth {
  const reasons: string[] = [];
  let shiftedFeatureShare: number | null = null;
  if (stats && scaler && stats.count > 1 && stats.mean.length === scaler.mean.length) {
    const d = stats.mean.length;
    let shifted = 0;
    let worst = { j: -1, z: 0 };
    for (let j = 0; j < d; j++) {
      const gStd = scaler.std[j]!;
      const z = Math.abs(stats.mean[j]! - scaler.mean[j]!) / gStd;
      const bStd = Math.sqrt(stats.m2[j]! / stats.count);
      const ratio = bStd > 0 ? bStd / gStd : 0;
      const spreadOff = bStd > 0 && (ratio > HEALTH_LIMITS.stdRatio || ratio < 1 / HEALTH_LIMITS.stdRatio);
      if (z > HEALTH_LIMITS.meanShiftStd || spreadOff) shifted++;
      if (z > worst.z) worst = { j, z };
    }
    shiftedFeatureShare = shifted / d;
    if (shiftedFeatureShare >= HEALTH_LIMITS.shiftedShare) {
      const name = featureNames?.[worst.j] ?? `feature ${worst.j + 1}`;
      reasons.push(
        `${shifted} of ${d} features differ from the consortium's (mean more than ${HEALTH_LIMITS.meanShiftStd} SD away or spread off by more than ${HEALTH_LIMITS.stdRatio}×); ` +
          `largest: ${name}, ${worst.z.toFixed(1)} SD from the consortium mean. Check the bank's data source and scaling, or re-fix the scaler.`,
      );
    }
  }
  let lossRatio: number | null = null;
  const median = Array.isArray(othersLosses)
    ? othersLosses.length > 0
      ? medianOf(othersLosses)
      : null
    : (othersLosses as { median: number | null }).median;
  if (loss !== undefined && median !== null) {
    lossRatio = median > 0 ? loss / median : null;
    if (lossRatio !== null && lossRatio > HEALTH_LIMITS.lossRatio && loss > HEALTH_LIMITS.minLoss)
      reasons.push(
        `training loss ${loss.toFixed(3)} is ${lossRatio.toFixed(1)}× the other banks' median (${median.toFixed(3)}): the global model does not fit this bank's data`,
      );
  }
  return { status: reasons.length ? 'warning' : 'ok', reasons, shiftedFeatureShare, lossRatio };
}
