/**
 * The parameters of one secure-aggregation round, fixed by the aggregator before
 * stage 1 and known to every bank: who takes part, the threshold, the neighbourhood
 * graph, the vector length and the fixed-point encoding. Banks check them before
 * producing any key (a bank refuses a round whose threshold is not an honest majority
 * of its own neighbourhood).
 */
import { compareBankIds, SecAggError } from './errors.js';
import { checkFixedPointParams, type FixedPointParams } from './fixed-point.js';
import { checkThreshold, neighbourhoods, type GraphSpec, type Neighbourhoods } from './graph.js';

export interface SecAggParams {
  /**
   * Unique per round *attempt* (e.g. "42/9f1c…": round number and a random nonce): it is
   * bound into every signature, key and ciphertext, so a retried round never accepts a
   * message of the failed attempt.
   */
  roundId: string;
  /** The selected banks (distinct; any order, the protocol sorts them). */
  participants: ReadonlyArray<string>;
  /** t: shares needed to reconstruct a secret; > half of every neighbourhood. */
  threshold: number;
  graph: GraphSpec;
  /** Words in the masked vector (model coordinates plus any extra masked coordinates). */
  vectorLength: number;
  fixedPoint: FixedPointParams;
}

/** Validated parameters plus the graph they imply. */
export interface RoundSetup {
  params: SecAggParams;
  participants: ReadonlyArray<string>;
  graph: Neighbourhoods;
}

/** Checks `params` and builds the graph. Throws SecAggError('invalid_params') naming the setting. */
export function setupRound(params: SecAggParams): RoundSetup {
  if (typeof params.roundId !== 'string' || params.roundId.length === 0 || params.roundId.length > 200) {
    throw new SecAggError('invalid_params', 'roundId must be a non-empty string of at most 200 characters');
  }
  if (!Number.isInteger(params.vectorLength) || params.vectorLength < 1 || params.vectorLength > 2 ** 28) {
    throw new SecAggError('invalid_params', `vectorLength ${params.vectorLength} must be an integer in [1, 2^28]`);
  }
  const participants = [...params.participants].sort(compareBankIds);
  if (participants.length < 2) throw new SecAggError('invalid_params', 'secure aggregation needs at least 2 banks');
  if (params.fixedPoint.maxBanks < participants.length) {
    throw new SecAggError(
      'invalid_params',
      `fixedPoint.maxBanks ${params.fixedPoint.maxBanks} is below the ${participants.length} participants`,
    );
  }
  try {
    checkFixedPointParams(params.fixedPoint);
  } catch (err) {
    throw new SecAggError('invalid_params', (err as Error).message, { cause: err });
  }
  const graph = neighbourhoods(participants, params.graph);
  checkThreshold(graph, params.threshold);
  return { params, participants, graph };
}
