/**
 * Settings of a simulated federation that are decided before it runs: the default grace period,
 * and the aggregator's own refusals of a secure-aggregation federation, checked up front.
 */
import { secaggRuleIssues } from '@finsecure/aggregator';
import { UsageError } from './cli-main.js';

/**
 * The aggregator's own refusals of a secure-aggregation federation with these settings
 * (secaggRuleIssues: a share cap, a quorum of one), as a UsageError naming the flags, so that a
 * command refuses them before any work (compare ran its baseline, local-only and plaintext arms
 * first, and lost them to the aggregator's ConfigError).
 * @param quorum the --quorum given, or undefined (then every bank: --banks)
 */
export function checkSecureAggregation(o: { maxShare: number; quorum: number | undefined; banks: number }): void {
  const quorum = o.quorum ?? o.banks;
  const issues = secaggRuleIssues({
    secureAggregation: true,
    strategy: 'fedavg',
    maxShare: o.maxShare,
    adaptiveNormK: 0,
    quorum,
  });
  if (!issues.length) return;
  const flag = (key: string) =>
    key === 'maxShare'
      ? `--max-share ${o.maxShare}`
      : o.quorum !== undefined
        ? `--quorum ${quorum}`
        : `--banks ${quorum}`;
  throw new UsageError(issues.map((i) => `--secure-aggregation with ${flag(i.path[0]!)}: ${i.message}`).join('; '));
}

/** The wait for late banks once the quorum is in, when --grace is not given: none below all banks, else 5 s (ms). */
export function defaultGraceMs(quorum: number, banks: number): number {
  return quorum < banks ? 0 : 5_000;
}
