/**
 * A reason for every flag, in words an operations analyst can act on: which features
 * made this row (transaction or account) stand out, how far from the bank's population
 * (robust z-score, see robust.ts) and, for Isolation Forest, what share of the row's
 * isolation its splits on that feature provided (IsolationForest.attribution).
 */
import type { RobustStats } from './robust.js';
import { robustZ } from './robust.js';

export interface Reason {
  /** Feature name, as in the feature list. */
  feature: string;
  value: number;
  /** The population's median of this feature. */
  median: number;
  /** Robust z-score of `value` (±Infinity when the population is constant). */
  z: number;
  /** Share of the Isolation Forest path-length attribution, in [0, 1], when known. */
  share?: number;
}

export interface ReasonInput {
  names: readonly string[];
  /** The row's raw feature values. */
  values: ArrayLike<number>;
  stats: RobustStats;
  /** The row's attribution shares (Isolation Forest); ranks reasons when given. */
  attribution?: ArrayLike<number>;
  /** How many reasons to keep (default 3). */
  top?: number;
}

/**
 * The row's top reasons: ranked by attribution share when given, otherwise by |z|
 * (ties by |z| then feature order). Features with z = 0 and no share are never reasons.
 */
export function topReasons(input: ReasonInput): Reason[] {
  const { names, values, stats, attribution } = input;
  const all: Reason[] = [];
  for (let j = 0; j < names.length; j++) {
    const z = robustZ(values[j], stats, j);
    const share = attribution ? attribution[j] : undefined;
    if (z === 0 && !(share && share > 0)) continue;
    all.push({
      feature: names[j],
      value: values[j],
      median: stats.median[j],
      z,
      ...(share !== undefined ? { share } : {}),
    });
  }
  all.sort((a, b) => (b.share ?? 0) - (a.share ?? 0) || Math.abs(b.z) - Math.abs(a.z));
  return all.slice(0, input.top ?? 3);
}

/** 1234.5 → "1,234.5": at most 0 (≥ 100), 2 (≥ 1) or 3 decimals, trailing zeros dropped. */
function fmt(x: number): string {
  const a = Math.abs(x);
  const digits = Number.isInteger(x) || a >= 100 ? 0 : a >= 1 ? 2 : 3;
  let [int, frac = ''] = a.toFixed(digits).split('.');
  frac = frac.replace(/0+$/, '');
  int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = x < 0 && (int !== '0' || frac !== '') ? '-' : '';
  return sign + int + (frac ? '.' + frac : '');
}

/**
 * One reason in words, e.g. "Amount is 4.2 robust SDs above this bank's median (812 vs
 * 35.1; 45% of the isolation)". `labels` maps feature names to display names.
 */
export function describeReason(r: Reason, labels: Readonly<Record<string, string>> = {}): string {
  const name = labels[r.feature] ?? r.feature;
  const share = r.share !== undefined && r.share > 0 ? `; ${Math.round(r.share * 100)}% of the isolation` : '';
  if (!Number.isFinite(r.z)) {
    return `${name} is ${fmt(r.value)} while every account of this bank has ${fmt(r.median)}${share ? ` (${share.slice(2)})` : ''}`;
  }
  const dir = r.z > 0 ? 'above' : 'below';
  return `${name} is ${Math.abs(r.z).toFixed(1)} robust SDs ${dir} this bank's median (${fmt(r.value)} vs ${fmt(r.median)}${share})`;
}

/** The top reasons joined into one sentence-per-reason string ("; " separated). */
export function describeReasons(reasons: readonly Reason[], labels: Readonly<Record<string, string>> = {}): string {
  return reasons.map((r) => describeReason(r, labels)).join('; ');
}
