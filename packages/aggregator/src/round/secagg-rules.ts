/**
 * Round rules of secure aggregation (the secagg workflow, see round/workflow.ts and
 * common/secagg). Defaulted, so settings stored before they existed still validate.
 */
import { distributedDpClipIssue, requiredSecaggClip, type DistributedDpParams } from '@finsecure/common/secagg';
import { z } from 'zod';

export const SECAGG_RULE_FIELDS = {
  /** Run rounds as the secagg workflow: the aggregator sums masked updates it never sees one by one. */
  secureAggregation: z.boolean().default(false),
  /** t: shares needed to unmask; 0 = the smallest strict majority of each neighbourhood. */
  secaggThreshold: z.number().int().min(0).max(255).default(0),
  /** Neighbours per bank (SecAgg+ sparse graph); 0 = every bank up to 50 banks, else ~4·log2(n). */
  secaggDegree: z.number().int().min(0).max(254).default(0),
  /**
   * Each coordinate a bank masks (its update divided by its local steps) is clipped to ±this;
   * 0 = automatic (`effectiveSecaggClip`: 1, or room for the noise with distributed DP).
   */
  secaggClip: z.number().min(0).max(1e6).default(0),
  /** Fixed-point fractional bits; 0 = the most that cannot overflow for the round's banks. */
  secaggFractionalBits: z.number().int().min(0).max(30).default(0),
  /** Timeout of each key stage (advertise, share, consistency check, unmask), ms. */
  secaggStageTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
};

export const DEFAULT_SECAGG_RULES = {
  secureAggregation: false,
  secaggThreshold: 0,
  secaggDegree: 0,
  secaggClip: 0,
  secaggFractionalBits: 0,
  secaggStageTimeoutMs: 30_000,
};

/**
 * What cannot run on masked updates, as issues naming both settings: only linear aggregation
 * (FedAvg) can; the share cap and the adaptive norm bound need each bank's weight or update; a
 * quorum of 1 would reveal the one bank's update. Server learning rate and momentum apply to the
 * unmasked mean (FedAvg.applyMeanStep), so they stay allowed.
 */
export function secaggRuleIssues(r: {
  secureAggregation: boolean;
  strategy: string;
  maxShare: number;
  adaptiveNormK: number;
  quorum: number;
}): { path: string[]; message: string }[] {
  if (!r.secureAggregation) return [];
  const issues: { path: string[]; message: string }[] = [];
  const refuse = (key: string, why: string) =>
    issues.push({ path: [key], message: `secureAggregation cannot be combined with ${why}` });
  if (r.strategy !== 'fedavg')
    refuse('strategy', `strategy ${r.strategy}: only FedAvg aggregates masked updates (it needs no individual update)`);
  if (r.maxShare < 1)
    refuse('maxShare', `maxShare ${r.maxShare} < 1: the cap needs every bank's weight; set maxShare to 1`);
  if (r.adaptiveNormK > 0)
    refuse('adaptiveNormK', `adaptiveNormK ${r.adaptiveNormK}: the norm bound needs each update; banks clip their own`);
  if (r.quorum < 2) refuse('quorum', `quorum ${r.quorum}: a sum of one update is that update; use quorum ≥ 2`);
  return issues;
}

/** The fixed-point clip without distributed DP when secaggClip is 0 (automatic). */
export const DEFAULT_SECAGG_CLIP = 1;

/**
 * The fixed-point clip a round uses: the rule's value, or when it is 0 (automatic) 1 without
 * distributed DP and C + 6·σ_share with it (common/secagg/distributed-dp.ts `requiredSecaggClip`,
 * rounded up to 3 significant digits so the round record reads well).
 */
export function effectiveSecaggClip(secaggClip: number, dp: DistributedDpParams | null): number {
  if (secaggClip > 0) return secaggClip;
  if (!dp) return DEFAULT_SECAGG_CLIP;
  const need = requiredSecaggClip(dp);
  const unit = 10 ** (Math.floor(Math.log10(need)) - 2);
  return Math.max(DEFAULT_SECAGG_CLIP, Math.ceil(need / unit) * unit);
}

/**
 * Distributed DP (secure aggregation with training.dp): the issue when an explicit secaggClip
 * cannot carry each bank's noise share, naming the setting to raise; [] otherwise.
 */
export function distributedDpIssues(r: {
  secureAggregation: boolean;
  secaggClip: number;
  quorum: number;
  dp?: { clip: number; noiseMultiplier: number } | undefined;
}): { path: string[]; message: string }[] {
  if (!r.secureAggregation || !r.dp || r.secaggClip === 0) return [];
  const issue = distributedDpClipIssue(r.secaggClip, {
    clip: r.dp.clip,
    noiseMultiplier: r.dp.noiseMultiplier,
    quorum: r.quorum,
  });
  return issue ? [{ path: ['rules', 'secaggClip'], message: issue }] : [];
}
