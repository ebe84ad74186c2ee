/**
 * Wire messages of secure aggregation (SecAgg+, see common/secagg). Five stages, one
 * request (aggregator → bank) and one answer (bank → aggregator) each:
 *
 *   secagg_advertise_keys     → secagg_keys               signed X25519 public keys
 *   secagg_share_keys         → secagg_shares             encrypted Shamir shares, per neighbour
 *   secagg_masked_fit         → secagg_masked_update      + uint32 tensor `masked`
 *   secagg_consistency_check  → secagg_survivors_signed   signature over the survivor list
 *   secagg_unmask             → secagg_unmask_shares      seed shares of survivors, key shares of dropped banks
 *
 * The evaluation of the candidate model is a second pass with fresh keys and its own session:
 * the same messages, with `secagg_masked_evaluate` → `secagg_masked_evaluation` (+ uint32 tensor
 * `masked`: confusion counts and score histogram, common/secagg/evaluation.ts) as its stage 3.
 *
 * and `secagg_refused` when a bank refuses a request (with the stage, code and banks).
 *
 * Byte strings travel as canonical base64 of a fixed length (checked here, so a frame
 * with a 31-byte key never reaches the crypto). Every message carries the round id and
 * the round's `session` nonce; the secagg core binds `${roundId}/${session}` into every
 * signature, key derivation and ciphertext (see secaggRoundId).
 */
import { z } from 'zod';
import { text } from './text.js';
import {
  envelope94,
  incomingEnvelope,
  key32,
  KeyAdvertisementWire,
  SecAggFixedPoint,
  SecAggGraph,
  secaggBankId,
  session,
  share33,
  signature64,
} from './secagg-parts.js';
import { AnalyticsServerMessage } from './analytics-messages.js';
import { ClientMessage, EvaluationRequest, RoundAssignment, ServerMessage, Timings } from './messages.js';

const bankId = secaggBankId;
const roundId = z.number().int().nonnegative();
const deadlineInMs = z.number().int().min(0).max(86_400_000);

export { SecAggFixedPoint, SecAggGraph } from './secagg-parts.js';

/** The secagg core's round id of a message: round number and session nonce. */
export function secaggRoundId(round: number, sessionHex: string): string {
  return `${round}/${sessionHex}`;
}

export const SecAggStageName = z.enum([
  'advertise_keys',
  'share_keys',
  'masked_fit',
  'masked_evaluate',
  'consistency_check',
  'unmask',
]);

// ---------------------------------------------------------------- aggregator → bank

/** Stage 1: the round's parameters; every bank checks them before making keys. */
export const SecAggAdvertiseKeysRequest = z.object({
  type: z.literal('secagg_advertise_keys'),
  roundId,
  session,
  participants: z.array(bankId).min(2).max(10_000),
  threshold: z.number().int().min(2).max(255),
  graph: SecAggGraph,
  /** Masked words: model coordinates plus extra masked coordinates (weight numerators, counts). */
  vectorLength: z
    .number()
    .int()
    .min(1)
    .max(2 ** 28),
  fixedPoint: SecAggFixedPoint,
  /**
   * The participants' Ed25519 identity keys as the aggregator pinned them. Each bank pins every
   * key on first sight in its state directory and refuses a round in which one changed.
   */
  identities: z
    .array(z.object({ bankId, publicKey: key32 }).strict())
    .min(2)
    .max(10_000),
  deadlineInMs,
});

/** Stage 2: the signed keys of the bank's live neighbours (itself included). */
export const SecAggShareKeysRequest = z.object({
  type: z.literal('secagg_share_keys'),
  roundId,
  session,
  keys: z.array(KeyAdvertisementWire).min(2).max(255),
  deadlineInMs,
});

/**
 * Stage 3: a round assignment (carries tensor `global`, like `round_assignment`) plus
 * the share envelopes addressed to this bank. The bank trains, encodes, masks.
 */
export const SecAggMaskedFitRequest = RoundAssignment.extend({
  type: z.literal('secagg_masked_fit'),
  session,
  /** How the bank weights its own update before masking (secure FedAvg, see common/secagg/fedavg.ts). */
  weighting: z
    .object({
      /** Divides the bank's example count: weights must be ≤ fixedPoint.maxWeight (the largest declared count). */
      exampleScale: z.number().finite().positive(),
      lossExponent: z.number().min(0).max(4),
      normalizeSteps: z.boolean(),
      /** Divides τ·w in the extra coordinate (the largest step count any selected bank can have). */
      stepScale: z.number().finite().positive(),
      /**
       * Distributed DP (common/secagg/distributed-dp.ts): with `config.dp` set, the bank clips its
       * update to dp.clip and adds N(0, (z·C)²/dpQuorum) per coordinate, its share of the noise.
       * Absent: no distributed DP (a bank's own local DP, if any, adds the full noise).
       */
      dpQuorum: z.number().int().min(1).max(10_000).optional(),
    })
    .strict(),
  shares: z.array(incomingEnvelope).max(254),
});

/**
 * Stage 3 of the evaluation pass: an evaluation request (carries tensor `global`, the candidate
 * model, like `evaluation_request`) plus the share envelopes addressed to this bank. The bank
 * evaluates, encodes its counts (4 + 2 × histogramBins words), masks.
 */
export const SecAggMaskedEvaluateRequest = EvaluationRequest.extend({
  type: z.literal('secagg_masked_evaluate'),
  session,
  shares: z.array(incomingEnvelope).max(254),
});

/** Stage 4: the survivor list U3 (sorted), for the bank to sign. */
export const SecAggConsistencyCheckRequest = z.object({
  type: z.literal('secagg_consistency_check'),
  roundId,
  session,
  survivors: z.array(bankId).min(2).max(10_000),
  deadlineInMs,
});

/** Stage 5: the same list plus the neighbours' signatures over it. */
export const SecAggUnmaskRequest = z.object({
  type: z.literal('secagg_unmask'),
  roundId,
  session,
  survivors: z.array(bankId).min(2).max(10_000),
  signatures: z.array(z.object({ bankId, signature: signature64 }).strict()).max(255),
  deadlineInMs,
});

// ---------------------------------------------------------------- bank → aggregator

export const SecAggKeys = z.object({
  type: z.literal('secagg_keys'),
  roundId,
  session,
  advertisement: KeyAdvertisementWire,
});

export const SecAggShares = z.object({
  type: z.literal('secagg_shares'),
  roundId,
  session,
  seedCommitment: key32,
  shares: z
    .array(z.object({ to: bankId, ciphertext: envelope94, seedShareHash: key32, keyShareHash: key32 }).strict())
    .max(254),
});

/**
 * Stage 3 answer: carries tensor `masked` (dtype uint32, vectorLength words). What stays
 * in the clear: local loss and timings (the example count is a masked coordinate).
 */
export const SecAggMaskedUpdate = z.object({
  type: z.literal('secagg_masked_update'),
  roundId,
  session,
  modelVersion: z.number().int().nonnegative(),
  /** Ed25519 over (round, bank, SHA-256 of the masked words). */
  signature: signature64,
  loss: z.number().finite().nonnegative(),
  timings: Timings,
});

/**
 * Stage 3 answer of the evaluation pass: carries tensor `masked` (uint32: tp, fp, tn, fn, then
 * the histogram's positives and negatives). In the clear: the number of test examples (the
 * aggregator checks the pooled counts against their sum), the mean loss and the time taken.
 */
export const SecAggMaskedEvaluation = z.object({
  type: z.literal('secagg_masked_evaluation'),
  roundId,
  session,
  modelVersion: z.number().int().nonnegative(),
  signature: signature64,
  numExamples: z.number().int().nonnegative(),
  loss: z.number().finite().nonnegative(),
  evalMs: z.number().finite().nonnegative(),
});

export const SecAggSurvivorsSigned = z.object({
  type: z.literal('secagg_survivors_signed'),
  roundId,
  session,
  signature: signature64,
});

export const SecAggUnmaskShares = z.object({
  type: z.literal('secagg_unmask_shares'),
  roundId,
  session,
  seedShares: z.array(z.object({ of: bankId, share: share33 }).strict()).max(255),
  keyShares: z.array(z.object({ of: bankId, share: share33 }).strict()).max(255),
});

/** A bank refuses a secagg request; the aggregator records the reason (it names the banks). */
export const SecAggRefused = z.object({
  type: z.literal('secagg_refused'),
  roundId,
  session,
  stage: SecAggStageName,
  code: text(64),
  reason: text(2000),
  banks: z.array(bankId).max(255),
});

export const SecAggServerMessage = z.discriminatedUnion('type', [
  SecAggAdvertiseKeysRequest,
  SecAggShareKeysRequest,
  SecAggMaskedFitRequest,
  SecAggMaskedEvaluateRequest,
  SecAggConsistencyCheckRequest,
  SecAggUnmaskRequest,
]);
export type SecAggServerMessage = z.infer<typeof SecAggServerMessage>;

export const SecAggClientMessage = z.discriminatedUnion('type', [
  SecAggKeys,
  SecAggShares,
  SecAggMaskedUpdate,
  SecAggMaskedEvaluation,
  SecAggSurvivorsSigned,
  SecAggUnmaskShares,
  SecAggRefused,
]);
export type SecAggClientMessage = z.infer<typeof SecAggClientMessage>;

export type SecAggAdvertiseKeysRequest = z.infer<typeof SecAggAdvertiseKeysRequest>;
export type SecAggShareKeysRequest = z.infer<typeof SecAggShareKeysRequest>;
export type SecAggMaskedFitRequest = z.infer<typeof SecAggMaskedFitRequest>;
export type SecAggMaskedEvaluateRequest = z.infer<typeof SecAggMaskedEvaluateRequest>;
export type SecAggMaskedEvaluation = z.infer<typeof SecAggMaskedEvaluation>;
export type SecAggConsistencyCheckRequest = z.infer<typeof SecAggConsistencyCheckRequest>;
export type SecAggUnmaskRequest = z.infer<typeof SecAggUnmaskRequest>;
export type SecAggKeys = z.infer<typeof SecAggKeys>;
export type SecAggShares = z.infer<typeof SecAggShares>;
export type SecAggMaskedUpdate = z.infer<typeof SecAggMaskedUpdate>;
export type SecAggSurvivorsSigned = z.infer<typeof SecAggSurvivorsSigned>;
export type SecAggUnmaskShares = z.infer<typeof SecAggUnmaskShares>;
export type SecAggRefused = z.infer<typeof SecAggRefused>;

/** Every message a bank may send: the plain protocol plus secure aggregation. */
export const FederationClientMessage = z.discriminatedUnion('type', [
  ...ClientMessage.options,
  ...SecAggClientMessage.options,
]);
export type FederationClientMessage = z.infer<typeof FederationClientMessage>;

/** Every message the aggregator may send: the plain protocol plus secure aggregation. */
export const FederationServerMessage = z.discriminatedUnion('type', [
  ...ServerMessage.options,
  ...AnalyticsServerMessage.options,
  ...SecAggServerMessage.options,
]);
export type FederationServerMessage = z.infer<typeof FederationServerMessage>;
