/**
 * Round rules: how many banks, how long to wait, what counts as enough. Validated with
 * zod because admins change them at run time through the API.
 */
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
    /** Cap on any one bank's share of the FedAvg weight (1 = no cap). */
    maxShare: z.number().gt(0).max(1),
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
  });
export type RoundRules = z.infer<typeof RoundRules>;

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
  maxShare: 1,
  maxUpdateNorm: 1000,
  privacyBudgetAction: 'exclude-bank',
};
