/** Argument checks shared by both stores, so they fail identically. */
import type { ModelVersionRecord, RoundRecord } from './types.js';

/** A limit must be a non-negative integer; undefined means "no limit". */
export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** A cursor bound (before/after/afterSeq) must be a finite number when given. */
export function checkBound(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
  return value;
}

/**
 * commitRound records a finished round and the model it produced; anything else is a
 * caller bug that would corrupt the lineage (and latestModel relies on the status).
 */
export function checkCommit(round: RoundRecord, model: ModelVersionRecord): void {
  if (round.status !== 'committed')
    throw new TypeError(`commitRound: round ${round.id} has status ${round.status}, not committed`);
  if (model.roundId !== round.id)
    throw new TypeError(`commitRound: model v${model.version} belongs to round ${model.roundId}, not ${round.id}`);
  if (round.modelVersion !== model.version)
    throw new TypeError(`commitRound: round ${round.id} names model v${round.modelVersion}, not v${model.version}`);
  // The seal hashes the bound values; a committed round's only free text column stays empty.
  if (round.failureReason !== null && round.failureReason !== undefined)
    throw new TypeError(`commitRound: round ${round.id} is committed but has a failure reason`);
}
