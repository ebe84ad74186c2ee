/**
 * The consortium's plausible range for one bank's per-feature statistics (mean and
 * variance of its training split), from the median over banks. A bank whose mean lies
 * more than K robust standard deviations from the banks' median mean, or whose variance
 * differs from the banks' median variance by more than a factor F, is implausible.
 *
 * The scale of the mean test is the LARGER of two robust spreads: the median of the banks'
 * own standard deviations (how far apart single rows are) and 1.4826 × the MAD of the
 * banks' means (how far apart honest banks' means are, e.g. banks covering different
 * periods). Label skew (Dirichlet partitions: one bank all frauds, another none) moves a
 * bank's mean by about 2 standard deviations in this data, far inside the default K = 8.
 * The variance test works on log-variances, with the radius max(ln F, K × 1.4826 × MAD).
 *
 * Method: median/MAD outlier rule (Hampel 1974; Iglewicz & Hoaglin 1993, "How to detect
 * and handle outliers"). It needs a majority of honest banks, and at least 3 banks: with
 * 2 the median is their mean and a liar drags it halfway.
 */
import { MIN_STD } from '@finsecure/common/data';
import type { FeatureStats } from '@finsecure/common/protocol';
import { MAD_TO_SD, mad, median } from './robust.js';

export interface FeatureStatsTolerances {
  /** K: robust standard deviations a bank's mean may be from the median mean. Default 8. */
  meanTolerance?: number;
  /** F: factor by which a bank's variance may differ from the median variance. Default 100 (10× in std). */
  varianceRatio?: number;
  /**
   * Banks with fewer training rows than this are not excluded for implausible values but
   * clamped into the bands: a few rows of heavy-tailed data (amounts) can honestly fall far
   * out, and their weight in the merge is small either way. Default 100.
   */
  minCount?: number;
}

export const DEFAULT_TOLERANCES: Required<FeatureStatsTolerances> = {
  meanTolerance: 8,
  varianceRatio: 100,
  minCount: 100,
};

/** Per feature: the band a bank's mean and log-variance must lie in. */
export interface FeatureBands {
  meanCentre: Float64Array;
  /** The robust standard deviation the mean test counts in (see the module comment). */
  meanScale: Float64Array;
  /** K × meanScale. */
  meanRadius: Float64Array;
  logVarCentre: Float64Array;
  logVarRadius: Float64Array;
  /** Variances below this count as this (a constant feature; see data/scaler.ts MIN_STD). */
  varFloor: Float64Array;
}

export function variances(s: FeatureStats): number[] {
  return s.m2.map((m) => (s.count > 0 ? m / s.count : 0));
}

/**
 * The bands from the statistics of ≥ 3 banks (all of them, the judged bank included, so
 * that a minority cannot move the medians). Throws with fewer than 3 or mismatched lengths.
 */
export function consortiumBands(list: readonly FeatureStats[], tolerances: FeatureStatsTolerances = {}): FeatureBands {
  if (list.length < 3) throw new Error(`consortium bands need at least 3 banks' statistics, got ${list.length}`);
  const { meanTolerance: K, varianceRatio: F } = { ...DEFAULT_TOLERANCES, ...tolerances };
  const d = list[0]!.mean.length;
  for (const s of list)
    if (s.mean.length !== d || s.m2.length !== d)
      throw new Error(`feature statistics differ in length (${d} vs ${s.mean.length})`);
  const vars = list.map(variances);
  const b: FeatureBands = {
    meanCentre: new Float64Array(d),
    meanScale: new Float64Array(d),
    meanRadius: new Float64Array(d),
    logVarCentre: new Float64Array(d),
    logVarRadius: new Float64Array(d),
    varFloor: new Float64Array(d),
  };
  for (let j = 0; j < d; j++) {
    const means = list.map((s) => s.mean[j]!);
    const centre = median(means);
    const floor = MIN_STD * Math.max(1, Math.abs(centre));
    const sd = median(vars.map((v) => Math.sqrt(v[j]!)));
    const scale = Math.max(sd, MAD_TO_SD * mad(means, centre), floor);
    b.meanCentre[j] = centre;
    b.meanScale[j] = scale;
    b.meanRadius[j] = K * scale;
    b.varFloor[j] = floor * floor;
    const logs = vars.map((v) => Math.log(Math.max(v[j]!, floor * floor)));
    const lc = median(logs);
    b.logVarCentre[j] = lc;
    b.logVarRadius[j] = Math.max(Math.log(F), K * MAD_TO_SD * mad(logs, lc));
  }
  return b;
}

/** Where a bank leaves the bands: the first feature and why, or null when it stays inside. */
export function outsideBands(s: FeatureStats, bands: FeatureBands): { feature: number; reason: string } | null {
  const vars = variances(s);
  for (let j = 0; j < s.mean.length; j++) {
    const off = Math.abs(s.mean[j]! - bands.meanCentre[j]!);
    if (!(off <= bands.meanRadius[j]!))
      return {
        feature: j,
        reason: `feature ${j}: mean ${s.mean[j]!.toPrecision(4)} is ${(off / bands.meanScale[j]!).toPrecision(3)} robust standard deviations (${bands.meanScale[j]!.toPrecision(3)}) from the banks' median ${bands.meanCentre[j]!.toPrecision(4)}; allowed ${(bands.meanRadius[j]! / bands.meanScale[j]!).toPrecision(3)}`,
      };
    // Upper side only: a variance below the consortium's lowers the merged one by at most
    // the bank's share of the rows (harmless), and honest banks have them (sparse features,
    // e.g. a terminal-risk window that is 0 on every row of a small bank).
    const lv = Math.log(Math.max(vars[j]!, bands.varFloor[j]!));
    if (!(lv - bands.logVarCentre[j]! <= bands.logVarRadius[j]!))
      return {
        feature: j,
        reason: `feature ${j}: variance ${vars[j]!.toPrecision(4)} differs from the banks' median ${Math.exp(bands.logVarCentre[j]!).toPrecision(4)} by a factor ${Math.exp(lv - bands.logVarCentre[j]!).toPrecision(3)} (allowed ${Math.exp(bands.logVarRadius[j]!).toPrecision(3)})`,
      };
  }
  return null;
}

/**
 * The statistics moved into the bands (mean clamped to the mean band, variance to the
 * variance band; the count is kept), and the features that had to move.
 */
export function clampToBands(s: FeatureStats, bands: FeatureBands): { stats: FeatureStats; features: number[] } {
  const features: number[] = [];
  const vars = variances(s);
  const mean = s.mean.map((m, j) => {
    const lo = bands.meanCentre[j]! - bands.meanRadius[j]!;
    const hi = bands.meanCentre[j]! + bands.meanRadius[j]!;
    const c = Math.min(hi, Math.max(lo, m));
    if (c !== m) features.push(j);
    return c;
  });
  const m2 = vars.map((v, j) => {
    // Upper side only, as in outsideBands.
    const c = Math.min(Math.exp(bands.logVarCentre[j]! + bands.logVarRadius[j]!), v);
    if (c !== v && !features.includes(j)) features.push(j);
    return c * s.count;
  });
  return { stats: { count: s.count, mean, m2 }, features: features.sort((a, b) => a - b) };
}
