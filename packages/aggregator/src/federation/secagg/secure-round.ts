/**
 * What the aggregator keeps for one round of the secagg workflow: the SecAgg+ core round
 * (common/secagg: it holds the masked running sum, never an individual update), the round's
 * parameters and session nonce, the weighting the banks apply (with distributed DP: the quorum q
 * that sizes each bank's noise share), and their clear-text losses.
 */
import { randomBytes } from 'node:crypto';
import {
  decodeFixedPointSum,
  distributedDpClipIssue,
  isSecAggError,
  maxFractionalBits,
  SecAggError,
  SecAggAggregatorRound,
  secureFedAvgStep,
  secureStepScale,
  type GraphSpec,
  type SecAggParams,
  type SecureWeighting,
} from '@finsecure/common/secagg';
import { secaggRoundId } from '@finsecure/common/protocol';
import type { TrainingConfig } from '@finsecure/common/protocol';
import type { RoundRules } from '../../round/rules.js';
import { effectiveSecaggClip } from '../../round/secagg-rules.js';
import type { ActiveRound, Core } from '../core.js';

/** Up to this many banks every bank neighbours every other (SecAgg); above, a sparse graph (SecAgg+). */
export const COMPLETE_GRAPH_UP_TO = 50;

export interface SecureRound {
  readonly session: string;
  readonly params: SecAggParams;
  readonly core: SecAggAggregatorRound;
  readonly identities: Map<string, Uint8Array>;
  readonly weighting: SecureWeighting;
  /** Each surviving bank's training loss (sent in the clear with its masked update). */
  readonly losses: Map<string, number>;
}

/** The neighbourhood graph for n banks: complete up to 50, else a random Harary graph of even degree ~ 4 log2 n. */
export function graphFor(n: number, degreeRule: number): GraphSpec {
  if (degreeRule === 0 && n <= COMPLETE_GRAPH_UP_TO) return { kind: 'complete' };
  let k = degreeRule > 0 ? degreeRule : 2 * Math.ceil(2 * Math.log2(n));
  if (k >= n - 1) return { kind: 'complete' };
  if (k % 2 === 1 && n % 2 === 1) k++;
  return { kind: 'harary', degree: k, seed: new Uint8Array(randomBytes(32)) };
}

/** t: a strict majority of the closed neighbourhood (the smallest allowed), or the rule's value. */
export function thresholdFor(graph: GraphSpec, n: number, rule: number): number {
  if (rule > 0) return rule;
  const hood = graph.kind === 'complete' ? n : graph.degree + 1;
  return Math.floor(hood / 2) + 1;
}

/** Sets up the secure part of round `roundId` for the selected banks (throws SecAggError on bad parameters). */
export function newSecureRound(
  roundId: number,
  selected: readonly { bankId: string; numExamples: number }[],
  parameters: number,
  rules: RoundRules,
  training: TrainingConfig,
  identities: Map<string, Uint8Array>,
): SecureRound {
  const n = selected.length;
  const graph = graphFor(n, rules.secaggDegree);
  // Distributed DP (common/secagg/distributed-dp.ts): training.dp under secure aggregation means each
  // bank adds N(0, (zC)²/q), q the quorum; the fixed-point clip must leave room for that noise.
  const dp = training.dp
    ? { clip: training.dp.clip, noiseMultiplier: training.dp.noiseMultiplier, quorum: rules.quorum }
    : null;
  const clip = effectiveSecaggClip(rules.secaggClip, dp);
  const dpIssue = dp ? distributedDpClipIssue(clip, dp) : null;
  if (dpIssue) throw new SecAggError('out_of_range', dpIssue);
  const fractionalBits = rules.secaggFractionalBits > 0 ? rules.secaggFractionalBits : maxFractionalBits(clip, 1, n);
  const session = randomBytes(16).toString('hex');
  const params: SecAggParams = {
    roundId: secaggRoundId(roundId, session),
    participants: selected.map((s) => s.bankId),
    threshold: thresholdFor(graph, n, rules.secaggThreshold),
    graph,
    // The model's coordinates plus Σ weights and Σ weight × steps (see common/secagg/fedavg.ts).
    vectorLength: parameters + 2,
    fixedPoint: { fractionalBits, clip, maxWeight: 1, maxBanks: n },
  };
  const maxExamples = Math.max(...selected.map((s) => s.numExamples));
  const weighting: SecureWeighting = {
    exampleScale: maxExamples,
    lossExponent: rules.lossExponent,
    normalizeSteps: rules.normalizeSteps,
    stepScale: secureStepScale(maxExamples, training, rules.normalizeSteps),
    ...(dp ? { dpQuorum: dp.quorum } : {}),
  };
  return {
    session,
    params,
    core: new SecAggAggregatorRound(params, identities, dp ? { dpQuorum: dp.quorum } : {}),
    identities,
    weighting,
    losses: new Map(),
  };
}

/**
 * The unmask stage closed: reconstruct, remove the masks, decode the sum and take the FedAvg
 * step. Returns the candidate weights and who is in the sum, or a failure reason.
 */
export async function finishSecure(
  core: Core,
  round: ActiveRound,
): Promise<{ weights: Float32Array; survivors: string[]; meanLoss: number } | { failed: string }> {
  const s = round.secure!;
  let result;
  try {
    result = await s.core.finish();
  } catch (err) {
    if (!isSecAggError(err)) throw err;
    return { failed: `secure aggregation: ${err.message}` };
  }
  const decoded = decodeFixedPointSum(result.sum, s.params.fixedPoint);
  let step;
  try {
    step = secureFedAvgStep(decoded, s.weighting.stepScale).step;
  } catch (err) {
    return { failed: `secure aggregation: ${(err as Error).message}` };
  }
  // The strategy's server step (learning rate, momentum) on the unmasked mean: the round's
  // strategy is FedAvg (secagg-rules.ts refuses any other), which keeps the velocity.
  if (!round.strategy.applyMeanStep)
    return { failed: `secure aggregation: strategy ${round.strategy.name} cannot step on a mean update` };
  const weights = round.strategy.applyMeanStep(core.globalWeights, step);
  // The mean loss from clear-text losses, weighted by the example counts declared at join.
  let num = 0;
  let den = 0;
  for (const b of result.survivors) {
    const n = core.sessions.get(b)?.hello.numExamples ?? 1;
    num += n * (s.losses.get(b) ?? 0);
    den += n;
  }
  return { weights, survivors: result.survivors, meanLoss: den > 0 ? num / den : 0 };
}
