/**
 * The evaluation pass of the secagg workflow: a second SecAgg+ sum with fresh keys and its own
 * session, over the evaluators' confusion counts and score histograms (integers, summed exactly
 * mod 2^32; common/secagg/evaluation.ts). The aggregator learns the pooled counts, each
 * evaluator's test example count and mean loss (in the clear), and nothing per bank beyond that.
 *
 * Why a second pass and not the fit pass's keys: the fit pass's unmask revealed the survivors'
 * self-mask seeds and the dropped banks' pairwise keys. Reusing either would let the aggregator
 * strip masks from the evaluation vectors; fresh keys cost two short key stages.
 */
import { randomBytes } from 'node:crypto';
import {
  decodeEvaluationSum,
  evaluationVectorLength,
  isSecAggError,
  SecAggAggregatorRound,
  type SecAggParams,
} from '@finsecure/common/secagg';
import { checkEvaluation } from '@finsecure/common/metrics';
import { secaggRoundId } from '@finsecure/common/protocol';
import type { EvaluationReport } from '@finsecure/common/strategy';
import type { ActiveRound, Core } from '../core.js';
import { graphFor, thresholdFor } from './secure-round.js';

export interface SecureEvaluation {
  readonly session: string;
  readonly params: SecAggParams;
  readonly core: SecAggAggregatorRound;
  readonly identities: Map<string, Uint8Array>;
  /** What each bank that sent a masked evaluation said in the clear. */
  readonly clear: Map<string, { numExamples: number; loss: number }>;
}

/**
 * Sets up the evaluation pass for `evaluators` (each with a pinned identity key). Throws
 * SecAggError when the pass cannot run (fewer than 2 evaluators, a threshold above their number).
 */
export function newSecureEvaluation(core: Core, round: ActiveRound, evaluators: readonly string[]): SecureEvaluation {
  const rules = core.settings.rules;
  const n = evaluators.length;
  const graph = graphFor(n, rules.secaggDegree);
  const session = randomBytes(16).toString('hex');
  const params: SecAggParams = {
    roundId: secaggRoundId(round.state.roundId, session),
    participants: [...evaluators],
    threshold: thresholdFor(graph, n, rules.secaggThreshold),
    graph,
    vectorLength: evaluationVectorLength(round.evaluation.bins),
    // Integers, not fixed point: the encoding parameters only have to be valid (they are unused).
    fixedPoint: { fractionalBits: 0, clip: 1, maxWeight: 1, maxBanks: Math.max(2, n) },
  };
  const identities = core.identities.directory(evaluators);
  return {
    session,
    params,
    core: new SecAggAggregatorRound(params, identities),
    identities,
    clear: new Map(),
  };
}

/**
 * The evaluation pass closed: unmask the pooled counts and check them like one bank's evaluation
 * against the evaluators' clear-text example counts. Returns the pooled report (its bankId is
 * "consortium"), or why there are no metrics.
 */
export async function finishSecureEvaluation(
  core: Core,
  round: ActiveRound,
  pass: SecureEvaluation,
): Promise<{ report: EvaluationReport } | { unavailable: string }> {
  let result;
  try {
    result = await pass.core.finish();
  } catch (err) {
    if (!isSecAggError(err)) throw err;
    return { unavailable: `secure evaluation: ${err.message}` };
  }
  let examples = 0;
  let declared = 0;
  let lossSum = 0;
  for (const b of result.survivors) {
    const clear = pass.clear.get(b);
    examples += clear?.numExamples ?? 0;
    lossSum += (clear?.numExamples ?? 0) * (clear?.loss ?? 0);
    declared += core.sessions.get(b)?.hello.numTestExamples ?? clear?.numExamples ?? 0;
  }
  let pooled;
  try {
    pooled = decodeEvaluationSum(result.sum, round.evaluation.bins, examples);
  } catch (err) {
    return { unavailable: `secure evaluation: ${(err as Error).message}` };
  }
  const check = checkEvaluation(
    { numExamples: examples, threshold: round.evaluation.threshold, ...pooled },
    { declaredTestExamples: declared, expectedThreshold: round.evaluation.threshold },
  );
  if (!check.ok)
    return {
      unavailable: `secure evaluation: the pooled counts of ${result.survivors.length} banks do not add up (${check.reason}); some bank masked counts that disagree with the examples it declared`,
    };
  return {
    report: {
      bankId: 'consortium',
      numExamples: examples,
      ...pooled,
      loss: examples > 0 ? lossSum / examples : 0,
    },
  };
}
