/**
 * Errors of the secure-aggregation core. Every refusal names the stage and the banks it
 * concerns, so that a failed round can store a reason an operator can act on
 * ("share_keys: bank-c's key advertisement does not verify"), and a test can check the
 * exact cause instead of matching prose.
 */

/** The stages of one SecAgg+ round, in order (Bonawitz et al. 2017, §4; Bell et al. 2020). */
export const SECAGG_STAGES = ['advertise_keys', 'share_keys', 'masked_fit', 'consistency_check', 'unmask'] as const;
export type SecAggStage = (typeof SECAGG_STAGES)[number];

export const SECAGG_ERROR_CODES = [
  /** Round parameters that cannot work (threshold, graph, fixed point, vector length). */
  'invalid_params',
  /** A message for another round (replayed or cross-round). */
  'wrong_round',
  /** A message that arrives in the wrong stage, or twice. */
  'out_of_order',
  /** A signature (key advertisement, survivor list, masked update) does not verify. */
  'bad_signature',
  /** The key list or survivor list changed within the round, or disagrees between banks. */
  'inconsistent',
  /** A share ciphertext does not decrypt (wrong key, wrong round, wrong banks, tampered). */
  'decryption_failed',
  /** A message that is well-formed but breaks a protocol rule (unknown bank, wrong length...). */
  'protocol_violation',
  /** Fewer than t live neighbours remain for some bank: the round cannot complete. */
  'threshold_not_met',
  /** A reconstructed secret does not match its commitment or public key (a corrupt share). */
  'corrupt_share',
  /** A fixed-point encoding that could overflow, or an input out of range. */
  'out_of_range',
] as const;
export type SecAggErrorCode = (typeof SECAGG_ERROR_CODES)[number];

export class SecAggError extends Error {
  readonly code: SecAggErrorCode;
  readonly stage: SecAggStage | undefined;
  /** The banks the error is about (sorted, may be empty). */
  readonly banks: readonly string[];

  constructor(
    code: SecAggErrorCode,
    message: string,
    opts: { stage?: SecAggStage; banks?: readonly string[]; cause?: unknown } = {},
  ) {
    super(opts.stage ? `${opts.stage}: ${message}` : message, opts.cause === undefined ? {} : { cause: opts.cause });
    this.name = 'SecAggError';
    this.code = code;
    this.stage = opts.stage;
    this.banks = [...(opts.banks ?? [])].sort(compareBankIds);
  }
}

export function isSecAggError(err: unknown): err is SecAggError {
  return err instanceof SecAggError;
}

/**
 * The one order of bank ids used everywhere in the protocol (pair order in key
 * derivation, mask signs, share holders): ordinal comparison of UTF-16 code units, so
 * every bank and the aggregator agree whatever their locale.
 */
export function compareBankIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "bank-a, bank-b" (sorted) or "(none)". */
export function listBanks(banks: Iterable<string>): string {
  const all = [...banks].sort(compareBankIds);
  return all.length ? all.join(', ') : '(none)';
}
