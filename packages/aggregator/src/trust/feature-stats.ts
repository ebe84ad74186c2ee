/**
 * Trusting the banks' feature statistics only as far as they are plausible. Each bank's
 * hello carries (count, mean, M2) of its training split and the aggregator merges them
 * into the federation's standard scaler. One hostile bank sending count 1 and means of
 * 1e300 fixed a scaler that made every honest bank diverge, for good (issue 12, A1).
 *
 * `checkFeatureStats` is what one bank's statistics must satisfy on their own (count
 * within what it trains on, finite, non-negative M2, magnitudes a float32 feature can
 * have) and, given the others', against the consortium's bands (feature-bands.ts).
 * `combineFeatureStats` applies it to every bank, excludes the implausible ones by name,
 * clamps the small banks into the bands, and merges the rest with Chan et al.'s formula.
 */
import { mergeScalerStats, scalerFromStats } from '@finsecure/common/data';
import type { FeatureStats, Scaler } from '@finsecure/common/protocol';
import {
  DEFAULT_TOLERANCES,
  clampToBands,
  consortiumBands,
  outsideBands,
  type FeatureStatsTolerances,
} from './feature-bands.js';

/**
 * Default bound on |mean| and on the standard deviation of any feature: 1e12. Bank data
 * is float32 (24-bit mantissa), so a feature whose values are around 1e12 is resolved to
 * ~6e4 at best; larger values are not features a standard scaler can serve (and squares
 * of 1e300 overflow float64 in the merge). Epoch milliseconds (1.7e12) must be converted
 * to a relative time before they are features: the bound is a setting for that reason.
 */
export const DEFAULT_MAX_MAGNITUDE = 1e12;

export interface CheckFeatureStatsOptions extends FeatureStatsTolerances {
  /** Training examples the bank declared in its hello (`numExamples`): count may not exceed them. */
  declaredTrainExamples: number;
  /** Features the model expects; the arrays must have this many entries. */
  numFeatures?: number;
  /** Bound on |mean| and on the standard deviation (default DEFAULT_MAX_MAGNITUDE). */
  maxMagnitude?: number;
  /**
   * The other banks' statistics (already checked on their own). With 2 or more of at
   * least `minCount` rows, this bank is also judged against the bands of all of them
   * together (feature-bands.ts); a bank with fewer than `minCount` rows is not refused for
   * that (it is clamped when combined), nor do such banks count towards the bands.
   */
  others?: readonly FeatureStats[];
}

export type FeatureStatsVerdict = { ok: true } | { ok: false; bankId: string; reason: string; feature?: number };

/**
 * Checks one bank's feature statistics. `stats` has the hello's shape: count (rows),
 * mean[d] and m2[d] = Σ(x − mean)² in the data's own units. Returns `{ ok: true }` or
 * `{ ok: false, bankId, reason, feature? }` with a reason that names the bank and, when
 * one feature is at fault, its index (0-based). Never throws.
 */
export function checkFeatureStats(
  bankId: string,
  stats: FeatureStats,
  options: CheckFeatureStatsOptions,
): FeatureStatsVerdict {
  const bad = (reason: string, feature?: number): FeatureStatsVerdict => ({
    ok: false,
    bankId,
    reason: `bank ${bankId}: ${reason}`,
    ...(feature !== undefined ? { feature } : {}),
  });
  const max = options.maxMagnitude ?? DEFAULT_MAX_MAGNITUDE;
  const { count, mean, m2 } = stats;
  if (!(Number.isSafeInteger(count) && count >= 1))
    return bad(`feature statistics count ${count} is not an integer ≥ 1`);
  const declared = options.declaredTrainExamples;
  if (!(count <= declared))
    return bad(`feature statistics count ${count} exceeds the ${declared} training examples declared in the hello`);
  if (mean.length !== m2.length) return bad(`mean has ${mean.length} entries, m2 ${m2.length}`);
  if (options.numFeatures !== undefined && mean.length !== options.numFeatures)
    return bad(`feature statistics have ${mean.length} features, the model expects ${options.numFeatures}`);
  for (let j = 0; j < mean.length; j++) {
    const m = mean[j]!;
    const q = m2[j]!;
    if (!Number.isFinite(m) || !Number.isFinite(q)) return bad(`feature ${j}: mean ${m} or m2 ${q} is not finite`, j);
    if (q < 0) return bad(`feature ${j}: m2 ${q} is negative (a variance cannot be)`, j);
    if (Math.abs(m) > max) return bad(`feature ${j}: |mean| ${m.toPrecision(4)} exceeds the plausible ${max}`, j);
    const sd = Math.sqrt(q / count);
    if (sd > max) return bad(`feature ${j}: standard deviation ${sd.toPrecision(4)} exceeds the plausible ${max}`, j);
  }
  const minCount = options.minCount ?? DEFAULT_TOLERANCES.minCount;
  const others = (options.others ?? []).filter((o) => o.count >= minCount);
  if (others.length >= 2 && count >= minCount) {
    const out = outsideBands(stats, consortiumBands([stats, ...others], options));
    if (out) return bad(`${out.reason} (unlike the ${others.length} other banks)`, out.feature);
  }
  return { ok: true };
}

/** One bank's contribution to the scaler. */
export interface BankFeatureStats {
  bankId: string;
  stats: FeatureStats;
  /** Training examples it declared in its hello. */
  declaredTrainExamples: number;
  /**
   * Optional cap on the rows it counts for in the merge (e.g. its weight bound from
   * weight-bound.ts): count becomes min(count, cap) and M2 is scaled with it, so its
   * mean and variance are kept and only its weight shrinks.
   */
  countCap?: number;
}

export interface CombineFeatureStatsOptions extends FeatureStatsTolerances {
  numFeatures: number;
  maxMagnitude?: number;
}

export interface CombinedFeatureStats {
  /** The merged scaler (mean, population std per feature); null when no bank was usable. */
  scaler: Scaler | null;
  /** Banks whose statistics were merged (clamped ones included). */
  used: string[];
  /** Banks left out, each with the reason (naming the feature). */
  excluded: { bankId: string; reason: string; feature?: number }[];
  /** Small banks (count < minCount) whose values were moved into the bands. */
  clamped: { bankId: string; features: number[] }[];
  /** Whether the consortium bands were applied (≥ 3 plausible banks of ≥ minCount rows), or only the bounds. */
  robust: boolean;
  /** Rows merged (after count caps). */
  examples: number;
}

/**
 * Robust federated standard scaler. Steps: (1) every bank's statistics are checked on
 * their own (`checkFeatureStats` without `others`): failures are excluded; (2) with ≥ 3
 * banks of ≥ `minCount` rows left, the consortium bands (median/MAD over those banks,
 * feature-bands.ts) are computed, those banks are excluded when outside them, smaller banks
 * are clamped into them; with ≤ 2 such banks only step 1 applies (a median of two cannot
 * tell the liar); (3) the rest are merged with Chan, Golub & LeVeque's parallel formula (1979) and
 * turned into a scaler (`scalerFromStats`). Never throws for bad bank input.
 */
export function combineFeatureStats(
  perBank: readonly BankFeatureStats[],
  options: CombineFeatureStatsOptions,
): CombinedFeatureStats {
  const excluded: CombinedFeatureStats['excluded'] = [];
  const clamped: CombinedFeatureStats['clamped'] = [];
  let usable: BankFeatureStats[] = [];
  for (const b of perBank) {
    const v = checkFeatureStats(b.bankId, b.stats, {
      declaredTrainExamples: b.declaredTrainExamples,
      numFeatures: options.numFeatures,
      ...(options.maxMagnitude !== undefined ? { maxMagnitude: options.maxMagnitude } : {}),
    });
    if (v.ok) usable.push(b);
    else
      excluded.push({ bankId: v.bankId, reason: v.reason, ...(v.feature !== undefined ? { feature: v.feature } : {}) });
  }
  // The bands come from the banks with enough rows to have stable statistics: a bank of
  // one row has variance 0, and many of them would make every real bank look deviant.
  const minCount = options.minCount ?? DEFAULT_TOLERANCES.minCount;
  const substantial = usable.filter((b) => b.stats.count >= minCount);
  const robust = substantial.length >= 3;
  if (robust) {
    const bands = consortiumBands(
      substantial.map((b) => b.stats),
      options,
    );
    const kept: BankFeatureStats[] = [];
    for (const b of usable) {
      if (b.stats.count < minCount) {
        const c = clampToBands(b.stats, bands);
        if (c.features.length > 0) clamped.push({ bankId: b.bankId, features: c.features });
        kept.push({ ...b, stats: c.stats });
        continue;
      }
      const out = outsideBands(b.stats, bands);
      if (out)
        excluded.push({
          bankId: b.bankId,
          reason: `bank ${b.bankId}: ${out.reason} (unlike the other ${substantial.length - 1} banks)`,
          feature: out.feature,
        });
      else kept.push(b);
    }
    usable = kept;
  }
  const parts = usable.map((b) => {
    const count = Math.min(b.stats.count, Math.max(1, Math.floor(b.countCap ?? Infinity)));
    const f = count / b.stats.count;
    return { count, mean: Float64Array.from(b.stats.mean), m2: Float64Array.from(b.stats.m2, (q) => q * f) };
  });
  const examples = parts.reduce((n, p) => n + p.count, 0);
  if (parts.length === 0) return { scaler: null, used: [], excluded, clamped, robust, examples };
  const { mean, std } = scalerFromStats(mergeScalerStats(parts));
  return {
    scaler: { mean: Array.from(mean), std: Array.from(std) },
    used: usable.map((b) => b.bankId),
    excluded,
    clamped,
    robust,
    examples,
  };
}
