/**
 * Round rules: how many banks, how long to wait, what counts as enough. Validated with
 * zod because admins change them at run time through the API.
 */
import { STRATEGY_NAMES, type StrategyName } from '@finsecure/common/strategy';
import { z } from 'zod';

export const RoundRules = z
  .object({
    /** Rounds to run before training stops by itself (0 = until stopped). */
    rounds: z.number().int().min(0).max(1_000_000),
    /** Fraction of connected, eligible banks selected for each round. */
    fraction: z.number().gt(0).max(1),
    /** Connected banks needed before a round starts (and the minimum selected). */
    minBanks: z.number().int().min(1),
    /** Quorum: successful updates needed to aggregate (k of the n selected). */
    quorum: z.number().int().min(1),
    /** Fit-stage deadline, from the moment assignments are sent. */
    roundTimeoutMs: z.number().int().min(100).max(86_400_000),
    /** After quorum is reached, how long to keep waiting for the remaining selected banks. */
    graceMs: z.number().int().min(0).max(86_400_000),
    /** Evaluation-stage deadline. A round commits with whatever evaluations arrived. */
    evaluationTimeoutMs: z.number().int().min(100).max(86_400_000),
    /**
     * What happens to an update that arrives after the fit stage closed. 'reject': it is
     * refused with reason "late" and audited. (A future 'buffer' policy will carry late
     * updates into the next round with a staleness weight, for asynchronous FL.)
     */
    latePolicy: z.enum(['reject']),
    /** Pause between rounds. */
    roundIntervalMs: z.number().int().min(0).max(3_600_000),
    /** Decision threshold for the precision/recall/F1 reported per round. */
    threshold: z.number().min(0).max(1),
    histogramBins: z.number().int().min(10).max(10_000),
    /**
     * Aggregation strategy. 'fedavg': example-weighted mean of the deltas (the options
     * below refine it). 'fedmedian': coordinate-wise median, robust to a minority of
     * hostile banks but blind to example counts, and it buffers every update. Defaulted
     * (like the four FedAvg options below) so that settings stored by earlier versions
     * still validate.
     */
    strategy: z.enum(STRATEGY_NAMES).default('fedavg'),
    /** Cap on any one bank's share of the FedAvg weight (1 = no cap). */
    maxShare: z.number().gt(0).max(1),
    /**
     * FedAvg: divide each delta by the bank's local step count before averaging (FedNova),
     * so that a bank moves the model in proportion to its data as in centralized training.
     * Recommended with unequal bank sizes; see packages/common/src/strategy/fedavg.ts.
     */
    normalizeSteps: z.boolean().default(false),
    /** FedAvg: weight banks by examples × (reported training loss)^q (q-FFL); 0 = examples only. */
    lossExponent: z.number().min(0).max(4).default(0),
    /** FedAvg: server learning rate η, global += η × averaged step (1 = plain FedAvg). */
    serverLearningRate: z.number().gt(0).max(10).default(1),
    /** FedAvg: server momentum β in [0, 1) (FedAvgM); 0 = none. */
    serverMomentum: z.number().min(0).lt(1).default(0),
    /**
     * Largest L2 norm an update (delta) may have. Honest local training moves this MLP by
     * norms of about 0.1–20; a larger update is diverged or hostile and is rejected before
     * it can touch the global model.
     */
    maxUpdateNorm: z.number().positive(),
    /** When a bank's DP budget would be exceeded: leave that bank out, or stop training. */
    privacyBudgetAction: z.enum(['exclude-bank', 'stop-training']),
  })
  .refine((r) => r.quorum <= r.minBanks, {
    message: 'quorum cannot exceed minBanks (a round could never reach it)',
    path: ['quorum'],
  })
  .refine((r) => !(r.normalizeSteps && r.maxShare < 1), {
    message:
      'normalizeSteps cannot be combined with maxShare < 1 (capping the weights of step-normalised deltas over-amplifies the smallest banks); set maxShare to 1 or normalizeSteps to false',
    path: ['normalizeSteps'],
  })
  .superRefine((r, ctx) => {
    const inUse = r.strategy === 'fedmedian' ? fedAvgOptionsInUse(r) : [];
    if (inUse.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['strategy'],
        message: `the fedmedian strategy ignores example counts and takes no options; reset ${inUse
          .map((k) => `${k} (${String(r[k])} → ${String(PLAIN_FEDAVG[k])})`)
          .join(', ')} or use fedavg`,
      });
  });
export type RoundRules = z.infer<typeof RoundRules>;

type FedAvgRuleKeys = 'maxShare' | 'normalizeSteps' | 'lossExponent' | 'serverLearningRate' | 'serverMomentum';

/** The FedAvg options of the rules that differ from plain FedAvg. */
const PLAIN_FEDAVG: Record<FedAvgRuleKeys, number | boolean> = {
  maxShare: 1,
  normalizeSteps: false,
  lossExponent: 0,
  serverLearningRate: 1,
  serverMomentum: 0,
};
function fedAvgOptionsInUse(r: Record<FedAvgRuleKeys, number | boolean>): FedAvgRuleKeys[] {
  return (Object.keys(PLAIN_FEDAVG) as FedAvgRuleKeys[]).filter((k) => r[k] !== PLAIN_FEDAVG[k]);
}

/**
 * The strategy the rules ask for, as the name and options `createStrategy` takes. The
 * federation rebuilds its strategy when this changes (and only then: a strategy may keep
 * state across rounds, such as server momentum).
 */
export function strategySpec(r: RoundRules): { name: StrategyName; options: Record<string, unknown> } {
  if (r.strategy === 'fedmedian') return { name: 'fedmedian', options: {} };
  return {
    name: 'fedavg',
    options: {
      maxShare: r.maxShare,
      normalizeSteps: r.normalizeSteps,
      lossExponent: r.lossExponent,
      serverLearningRate: r.serverLearningRate,
      serverMomentum: r.serverMomentum,
    },
  };
}

export const DEFAULT_RULES: RoundRules = {
  rounds: 20,
  fraction: 1,
  minBanks: 2,
  quorum: 2,
  roundTimeoutMs: 120_000,
  graceMs: 5_000,
  evaluationTimeoutMs: 60_000,
  latePolicy: 'reject',
  roundIntervalMs: 500,
  threshold: 0.5,
  histogramBins: 1000,
  strategy: 'fedavg',
  maxShare: 1,
  normalizeSteps: false,
  lossExponent: 0,
  serverLearningRate: 1,
  serverMomentum: 0,
  maxUpdateNorm: 1000,
  privacyBudgetAction: 'exclude-bank',
};
