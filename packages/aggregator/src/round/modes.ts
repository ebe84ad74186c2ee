/**
 * The two trust models of a federation (issue 15, part 3), and the combinations that cannot work.
 *
 * - **private**: secure aggregation (SecAgg+, common/secagg): the aggregator learns only the sum
 *   of the banks' masked updates, never one bank's update. Distributed DP and the evaluation
 *   gate belong here: with secure aggregation, `training.dp` IS distributed DP (each bank adds
 *   N(0, (zC)²/quorum), common/secagg/distributed-dp.ts; its fixed-point check is
 *   secagg-rules.ts `distributedDpIssues`, applied with the training config in
 *   federation/settings.ts). Defends the banks against the aggregator; it cannot tell a hostile bank's
 *   update from an honest one, because it never sees either.
 * - **robust**: plaintext updates, a robust strategy (median, Krum, Bulyan, trimmed mean,
 *   centered clipping), the adaptive norm bound, reputation and quarantine. Defends the
 *   consortium against hostile banks; the aggregator sees every update.
 *
 * Every defence that must look at one bank's update needs plaintext updates, so it is refused
 * under secure aggregation, with a message naming both settings. `checkModes` is the one list of
 * those refusals: secure aggregation's own (secagg-rules.ts: robust strategies, share cap,
 * adaptive norm bound, quorum 1) plus quarantine, and distributed DP without secure
 * aggregation. Pure: the rules in, the issues out (the round rules add them as validation issues).
 */
import { secaggRuleIssues } from './secagg-rules.js';

export type Mode = 'private' | 'robust' | 'plain';

/** What checkModes reads from the round rules. */
export type ModeRules = Parameters<typeof secaggRuleIssues>[0] & {
  /** null = off. */
  quarantineAfterExclusions?: number | null;
  /**
   * Banks add only their share of the noise, relying on the masked sum. Not a rule of its own:
   * the federation turns it on by `training.dp` with `secureAggregation`; callers that describe a
   * mode by its parts (tests, the research tools) may set it to be told it needs secure aggregation.
   */
  distributedDp?: boolean;
};

export interface ModeIssue {
  /** The setting to change (as in the zod issue path). */
  path: string[];
  message: string;
}

/** The trust model the rules describe. */
export function modeOf(r: ModeRules): Mode {
  if (r.secureAggregation) return 'private';
  if (r.strategy !== 'fedavg' || r.adaptiveNormK > 0 || (r.quarantineAfterExclusions ?? null) !== null) return 'robust';
  return 'plain';
}

/**
 * The combinations of settings that cannot work together, each naming both settings and what to
 * change. An empty list: the rules are consistent.
 */
export function checkModes(r: ModeRules): ModeIssue[] {
  const issues: ModeIssue[] = secaggRuleIssues(r);
  const q = r.quarantineAfterExclusions ?? null;
  if (r.secureAggregation && q !== null)
    issues.push({
      path: ['quarantineAfterExclusions'],
      message: `secureAggregation cannot be combined with quarantineAfterExclusions ${q}: quarantine counts the rounds a strategy excluded a bank's update, and nothing can be excluded from a masked sum; set quarantineAfterExclusions to null or secureAggregation to false`,
    });
  if (!r.secureAggregation && r.distributedDp)
    issues.push({
      path: ['distributedDp'],
      message:
        'distributedDp needs secureAggregation: each bank adds only its share of the noise, which protects it only inside a masked sum; set secureAggregation to true or use full per-bank DP (dp.noiseMultiplier)',
    });
  return issues;
}
