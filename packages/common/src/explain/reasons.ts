/**
 * Attributions in words a fraud analyst reads, in the style of anomaly/reasons.ts:
 * "Amount is 4.2 standard deviations above this bank's mean (812 vs 35.1); raises the
 * fraud score (+2.31 log-odds, 41% of the explanation)". The distance from the mean is
 * the standard score (x − mean)/std under the scaler the model was fed with; the push on
 * the score is the attribution in log-odds (explanations are in the logit space).
 */

/** Mean and standard deviation per feature (data/scaler.ts `Scaler`, or a model's stored scaler). */
export interface ScalerLike {
  mean: ArrayLike<number>;
  std: ArrayLike<number>;
}

export interface AttributionReason {
  feature: string;
  /** Push on the logit (log-odds of fraud): > 0 raises the fraud score. */
  attribution: number;
  /** |attribution| / Σ|attributions|, in [0, 1]. */
  share: number;
  /** The transaction's raw value of the feature. */
  value: number;
  mean: number;
  std: number;
  /** (value − mean) / std. */
  z: number;
  /** The reason in words. */
  text: string;
}

/** One bar of the attribution chart. */
export interface AttributionBar {
  feature: string;
  attribution: number;
}

export interface ReasonsOptions {
  /** How many reasons (default 3). */
  top?: number;
  /**
   * Which attributions may be reasons: 'any' (default, ranked by |attribution|),
   * 'raising' (only those raising the fraud score: why a transaction was flagged),
   * 'lowering'. Zero attributions are never reasons.
   */
  direction?: 'any' | 'raising' | 'lowering';
  /** Display names by feature name. */
  labels?: Readonly<Record<string, string>>;
  /** Whose mean the scaler holds, for the words (default "this bank's"). */
  population?: string;
  /** Bars in the chart (default: every feature with a non-zero attribution). */
  bars?: number;
}

export interface ReasonsResult {
  reasons: AttributionReason[];
  /** Features by decreasing |attribution| (ties: feature order), for a bar chart. */
  bars: AttributionBar[];
  /** The reasons joined with "; ". */
  text: string;
}

/** 1234.5 → "1,234.5": at most 0 (≥ 100), 2 (≥ 1) or 3 decimals, trailing zeros dropped. */
function fmt(x: number): string {
  const a = Math.abs(x);
  const digits = Number.isInteger(x) || a >= 100 ? 0 : a >= 1 ? 2 : 3;
  let [int = '0', frac = ''] = a.toFixed(digits).split('.');
  frac = frac.replace(/0+$/, '');
  int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = x < 0 && (int !== '0' || frac !== '') ? '-' : '';
  return sign + int + (frac ? '.' + frac : '');
}

/** One reason in words. */
export function describeAttribution(r: Omit<AttributionReason, 'text'>, label: string, population: string): string {
  const push = `${r.attribution > 0 ? 'raises' : 'lowers'} the fraud score (${r.attribution > 0 ? '+' : '-'}${Math.abs(r.attribution).toFixed(2)} log-odds, ${Math.round(r.share * 100)}% of the explanation)`;
  const az = Math.abs(r.z);
  const where =
    az < 0.05
      ? `is at ${population} mean`
      : `is ${az.toFixed(1)} standard deviation${az.toFixed(1) === '1.0' ? '' : 's'} ${r.z > 0 ? 'above' : 'below'} ${population} mean`;
  return `${label} ${where} (${fmt(r.value)} vs ${fmt(r.mean)}); ${push}`;
}

/**
 * The top reasons of one explanation. `attributions`, `featureNames`, `x` (the RAW
 * feature values, before scaling) and the scaler all have d entries in feature order.
 * Ranked by |attribution|, ties by feature order. Throws on length mismatches, a
 * non-finite attribution or value, or a non-positive std.
 */
export function describeReasons(
  attributions: ArrayLike<number>,
  featureNames: readonly string[],
  x: ArrayLike<number>,
  scaler: ScalerLike,
  opts: ReasonsOptions = {},
): ReasonsResult {
  const d = attributions.length;
  for (const [what, len] of [
    ['feature names', featureNames.length],
    ['values', x.length],
    ['scaler means', scaler.mean.length],
    ['scaler stds', scaler.std.length],
  ] as const) {
    if (len !== d) throw new Error(`describeReasons: ${d} attributions but ${len} ${what}`);
  }
  const top = opts.top ?? 3;
  if (!(Number.isInteger(top) && top >= 0)) throw new Error(`describeReasons: top must be an integer ≥ 0, got ${top}`);
  const direction = opts.direction ?? 'any';
  const population = opts.population ?? "this bank's";
  let totalAbs = 0;
  for (let j = 0; j < d; j++) {
    const a = attributions[j]!;
    if (!Number.isFinite(a)) throw new Error(`describeReasons: attribution of ${featureNames[j]} is ${a}`);
    if (!Number.isFinite(x[j]!)) throw new Error(`describeReasons: value of ${featureNames[j]} is ${x[j]}`);
    if (!(scaler.std[j]! > 0)) throw new Error(`describeReasons: std of ${featureNames[j]} is ${scaler.std[j]}`);
    totalAbs += Math.abs(a);
  }
  const order = Array.from({ length: d }, (_, j) => j).sort(
    (i, j) => Math.abs(attributions[j]!) - Math.abs(attributions[i]!) || i - j,
  );
  const bars = order
    .filter((j) => attributions[j] !== 0)
    .slice(0, opts.bars ?? d)
    .map((j) => ({ feature: featureNames[j]!, attribution: attributions[j]! }));
  const reasons: AttributionReason[] = [];
  for (const j of order) {
    if (reasons.length >= top) break;
    const a = attributions[j]!;
    if (a === 0 || (direction === 'raising' && a < 0) || (direction === 'lowering' && a > 0)) continue;
    const mean = scaler.mean[j]!;
    const std = scaler.std[j]!;
    const base = {
      feature: featureNames[j]!,
      attribution: a,
      share: totalAbs > 0 ? Math.abs(a) / totalAbs : 0,
      value: x[j]!,
      mean,
      std,
      z: (x[j]! - mean) / std,
    };
    const label = opts.labels?.[base.feature] ?? base.feature;
    reasons.push({ ...base, text: describeAttribution(base, label, population) });
  }
  return { reasons, bars, text: reasons.map((r) => r.text).join('; ') };
}
