/**
 * The wire protocol between the aggregator and bank clients: the ONE definition of
 * every message, with runtime validation (zod). Both sides import these schemas and
 * validate every frame they receive; TypeScript types are inferred from them, so the
 * compile-time and run-time views cannot drift apart.
 *
 * Messages travel inside binary frames (see frame.ts): the message object is the JSON
 * header, model weights ride along as named Float32 (or quantized) tensors. A message
 * never carries weights as JSON numbers.
 *
 * Rounds are made of stages. Today a round has a `fit` stage (train, send an update)
 * and an `evaluate` stage (score the new global model locally, send counts). Future
 * stages (secure-aggregation key setup, masked updates, unmasking) add task kinds
 * without changing the envelope.
 */
import { z } from 'zod';
import { text } from './text.js';
import { base64Bytes } from './base64.js';
import {
  Confusion,
  DpParams,
  FeatureStats,
  ReceivedHistogram,
  Scaler,
  Timings,
  TrainingBackend,
  TrainingConfig,
  bankId,
  count,
  finite,
  roundId,
} from './message-parts.js';

export {
  Confusion,
  DpParams,
  Encoding,
  FeatureStats,
  PROTOCOL_VERSION,
  ReceivedHistogram,
  Scaler,
  ScoreHistogram,
  Timings,
  TrainingBackend,
  TrainingConfig,
  countArray,
} from './message-parts.js';

/** SHA-256, lowercase hex (common/model weightsSha256). */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** What a bank can do beyond the protocol's baseline; a bank lists those it can in its hello. */
export const BANK_FEATURES = {
  /**
   * The bank keeps the model it was last sent, and the candidate it evaluated, so the aggregator
   * need not send the same weights again: a `round_committed` to a bank that evaluated the
   * candidate, and a `round_assignment` of the model the bank holds, carry only the model's
   * SHA-256 (`modelSha256`) instead of its weights. A round then sends a bank the weights once
   * (the candidate) instead of three times (issue 14: 4 MB each at 1M parameters).
   */
  modelByReference: 'model-by-reference',
} as const;

/** What an aggregator can read beyond the protocol's baseline; it lists those in its welcome. */
export const AGGREGATOR_FEATURES = {
  /**
   * An evaluation's histogram counts may travel as uint32 tensors (tensor-fields.ts
   * HISTOGRAM_TENSOR_FIELDS) instead of JSON arrays: parsing them was three quarters of decoding
   * the frame (issue 14 item 1). A bank sends the JSON arrays to an aggregator that does not list it.
   */
  binaryHistograms: 'binary-histograms',
} as const;

// ---------------------------------------------------------------- client → aggregator

/** First message on a connection. The token is checked against its stored hash. */
const HelloObject = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int(),
  bankId,
  token: z.string().min(16).max(256),
  clientVersion: text(64),
  backend: TrainingBackend,
  /** The bank's clock when it sent the hello (epoch ms): the aggregator measures clock skew with it. */
  sentAt: z.number().int().positive().optional(),
  /** Local training examples before oversampling (used for selection and weighting caps). */
  numExamples: count,
  numFraud: count.optional(),
  /** Local test examples available for federated evaluation. */
  numTestExamples: count.optional(),
  /** The bank's own DP settings, if it enforces any. */
  dp: DpParams.optional(),
  /** Number of input features the bank's data has (must match the model). */
  numFeatures: z.number().int().min(1).max(10_000),
  featureStats: FeatureStats.optional(),
  /**
   * The bank's Ed25519 identity public key (raw 32 bytes, base64): pinned by the aggregator on
   * first sight and by the other banks, it signs the bank's secure-aggregation messages.
   */
  identityKey: base64Bytes(32).optional(),
  /**
   * What this bank can do beyond the protocol's baseline, by name (BANK_FEATURES); names this
   * aggregator does not know are ignored, so a later bank may list more. Optional: older banks
   * list nothing and are sent everything in full.
   */
  features: z.array(z.string().max(64)).max(32).optional(),
});
export const Hello = HelloObject.refine(
  (h) => h.featureStats === undefined || h.featureStats.mean.length === h.numFeatures,
  { message: 'featureStats must have one entry per feature (numFeatures)', path: ['featureStats', 'mean'] },
);

/**
 * The result of a fit stage. The tensor `update` (same manifest as the global model)
 * is a delta from the global model the bank received (`kind: 'delta'`).
 */
export const Update = z.object({
  type: z.literal('update'),
  roundId,
  /** Global model version the update was computed from; stale versions are rejected. */
  modelVersion: count,
  kind: z.enum(['delta', 'weights']),
  /** Real local training examples BEFORE oversampling: the FedAvg weight. */
  numExamples: count.min(1),
  /** Examples actually trained on after SMOTE (informational). */
  numTrained: count,
  loss: finite.nonnegative(),
  timings: Timings,
  /** DP actually applied to this update, if any. */
  // Whether the update had to be clipped is NOT sent: it depends on the data and is not noised.
  dp: z.object({ clip: finite.positive(), noiseMultiplier: finite.nonnegative() }).strict().optional(),
});

/**
 * Pull protocol of the fit upload (issue 14): a bank that has trained does not send its update
 * at once; it offers it, and sends the `update` frame only after an `upload_grant` (unless its
 * `round_assignment` granted the upload in advance: `preGrantedUpload`). The
 * aggregator judges the offer when it arrives (round, model version, selection, deadline, size)
 * and grants at most a few uploads at a time, so that however many banks finish together only
 * that many updates are ever in its memory. A refused offer is answered with an `ack` of the
 * update (`accepted: false`, the reason), exactly as a refused update would be. A secure round's
 * `secagg_masked_update` is offered and granted the same way (its offer's `numExamples` is not
 * checked against the upload: the weight travels inside the masked vector).
 */
export const UpdateOffer = z.object({
  type: z.literal('update_offer'),
  roundId,
  /** Global model version the update was computed from. */
  modelVersion: count,
  /** Exact byte length of the `update` frame the bank will send once granted. */
  bytes: z.number().int().min(1),
  /** Real local training examples before oversampling (the FedAvg weight the update will declare). */
  numExamples: count.min(1),
});

export const EvaluationResult = z.object({
  type: z.literal('evaluation'),
  roundId,
  modelVersion: count,
  numExamples: count,
  threshold: finite.min(0).max(1),
  confusion: Confusion,
  /** Its counts as JSON arrays, or as uint32 tensors (HISTOGRAM_TENSOR_FIELDS) to an aggregator that reads them. */
  histogram: ReceivedHistogram,
  /** Mean binary cross-entropy on the local test split. */
  loss: finite.nonnegative(),
  evalMs: finite.nonnegative(),
});

/** Sent when a bank declines a task (e.g. its privacy budget would be exceeded). */
export const Decline = z.object({
  type: z.literal('decline'),
  roundId,
  reason: text(500),
  /**
   * The request named a model by reference (`modelSha256`) that this bank does not hold (it
   * restarted its work, or its copy does not hash to it): send it the model in full next time.
   */
  needsModel: z.literal(true).optional(),
});

// ---------------------------------------------------------------- aggregator → client

/** The model architecture of the federation (see model/mlp.ts). */
export const ModelSpec = z.object({
  inputSize: z.number().int().min(1).max(10_000),
  hidden: z.array(z.number().int().min(1).max(4096)).min(1).max(8),
  dropout: finite.min(0).lt(1),
});

export const Welcome = z.object({
  type: z.literal('welcome'),
  model: ModelSpec,
  protocolVersion: z.number().int(),
  bankId,
  serverVersion: text(64),
  heartbeatIntervalMs: z.number().int().positive(),
  /**
   * How long the aggregator waits for any frame from this bank before closing it, ms. Optional
   * (aggregators before it did not say): a bank skips its heartbeat in an interval it sent
   * something else only when this is at least four intervals (bank-client heartbeat.ts).
   */
  heartbeatTimeoutMs: z.number().int().positive().optional(),
  maxFrameBytes: z.number().int().positive(),
  /** Current global model version (0 before the first commit). */
  modelVersion: count,
  /**
   * What this aggregator reads beyond the baseline, by name (AGGREGATOR_FEATURES); names a bank
   * does not know are ignored. Optional: older aggregators list nothing, and are sent the baseline.
   */
  features: z.array(z.string().max(64)).max(32).optional(),
});

/** Fit stage: carries tensor `global`. */
export const RoundAssignment = z.object({
  type: z.literal('round_assignment'),
  roundId,
  modelVersion: count,
  /**
   * Milliseconds from sending until the fit stage closes, on the aggregator's clock. Relative on
   * purpose: a bank whose clock is off would misjudge an absolute time and drop its own update.
   */
  deadlineInMs: z.number().int().min(0).max(86_400_000),
  config: TrainingConfig,
  scaler: Scaler,
  /**
   * The upload is granted in advance (issue 14): an `update` frame of at most `maxBytes` bytes may
   * be sent as soon as training ends, without an `update_offer`. The aggregator grants it when
   * every selected bank's update fits in its memory at once (`rules.uploadPreGrantBytes`), so the
   * pull protocol's round trip (offer, grant) would only cost time and two frames per bank. Absent,
   * or a larger frame: offer first. Optional: older aggregators do not send it, and older banks,
   * which ignore it, still offer (their offers are granted as before).
   */
  // Not strict: a later aggregator may add to it, and this bank must still read the assignment.
  preGrantedUpload: z.object({ maxBytes: z.number().int().min(1) }).optional(),
  /**
   * Present instead of the `global` tensor: the model is version `modelVersion`, which this bank
   * already holds (see BANK_FEATURES.modelByReference), and this is the SHA-256 of its weights
   * (float32, little-endian). A bank whose copy is missing or hashes otherwise declines the round
   * with `needsModel`.
   */
  modelSha256: sha256Hex.optional(),
  /**
   * Head (seq, sha256 hex) of the aggregator's audit chain when the round was assigned. Banks
   * keep every head they see (append-only), so any one of them can later prove that the log
   * was truncated or rewritten (`finsecure-aggregator audit verify --bank-heads`). Optional:
   * older aggregators do not send it.
   */
  auditHead: z
    .object({
      seq: z.number().int().positive(),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .optional(),
});

/** Evaluate stage: carries tensor `global` (the newly aggregated candidate model). */
export const EvaluationRequest = z.object({
  type: z.literal('evaluation_request'),
  roundId,
  modelVersion: count,
  /** Milliseconds from sending until the evaluation stage closes (see RoundAssignment). */
  deadlineInMs: z.number().int().min(0).max(86_400_000),
  threshold: finite.min(0).max(1),
  histogramBins: z.number().int().min(2).max(10000),
  scaler: Scaler,
});

/**
 * The aggregator grants one upload slot for the bank's offered update (see UpdateOffer): send the
 * `update` frame now. A bank whose frame has not arrived within `uploadWithinMs` loses the slot
 * and is dropped from the stage like a bank that missed the deadline.
 */
export const UploadGrant = z.object({
  type: z.literal('upload_grant'),
  roundId,
  /** Milliseconds from sending within which the update frame must arrive (relative: clocks differ). */
  uploadWithinMs: z.number().int().min(0).max(86_400_000),
});

/**
 * Refuses an update (or its offer) or an evaluation, with the reason. Accepted results are not
 * acknowledged: the round's next instruction (`evaluation_request`, `round_committed`) follows
 * instead, as in Flower, so a round sends each bank two frames fewer (issue 14
 * item 1). `accepted` stays in the schema, false on every ack this version sends, so that a bank
 * of an earlier version still reads a refusal as one.
 */
export const Ack = z.object({
  type: z.literal('ack'),
  roundId,
  of: z.enum(['update', 'evaluation']),
  accepted: z.boolean(),
  reason: text(500).optional(),
});

/**
 * A round was committed; carries tensor `global` so every bank keeps the latest model, or,
 * to a bank that evaluated this round's candidate (the committed model is that candidate), only
 * `modelSha256`, the SHA-256 of its weights (float32, little-endian; BANK_FEATURES.modelByReference).
 */
export const RoundCommitted = z.object({
  type: z.literal('round_committed'),
  roundId,
  modelVersion: count,
  metrics: z.record(z.string(), z.number()).optional(),
  scaler: Scaler,
  modelSha256: sha256Hex.optional(),
});

/** A round failed (no quorum, aggregator restart, ...). Banks drop any pending work for it. */
export const RoundFailed = z.object({
  type: z.literal('round_failed'),
  roundId,
  reason: text(500),
});

// ---------------------------------------------------------------- both directions

export const Heartbeat = z.object({ type: z.literal('heartbeat'), sentAt: z.number().int() });

export const ErrorMessage = z.object({
  type: z.literal('error'),
  code: text(64),
  message: text(2000),
  roundId: roundId.optional(),
});

export const ClientMessage = z.discriminatedUnion('type', [
  Hello,
  UpdateOffer,
  Update,
  EvaluationResult,
  Decline,
  Heartbeat,
  ErrorMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export const ServerMessage = z.discriminatedUnion('type', [
  Welcome,
  RoundAssignment,
  EvaluationRequest,
  UploadGrant,
  Ack,
  RoundCommitted,
  RoundFailed,
  Heartbeat,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

export type Hello = z.infer<typeof Hello>;
export type Update = z.infer<typeof Update>;
export type UpdateOffer = z.infer<typeof UpdateOffer>;
export type UploadGrant = z.infer<typeof UploadGrant>;
export type EvaluationResult = z.infer<typeof EvaluationResult>;
export type Decline = z.infer<typeof Decline>;
export type Welcome = z.infer<typeof Welcome>;
export type RoundAssignment = z.infer<typeof RoundAssignment>;
export type EvaluationRequest = z.infer<typeof EvaluationRequest>;
export type Ack = z.infer<typeof Ack>;
export type RoundCommitted = z.infer<typeof RoundCommitted>;
export type RoundFailed = z.infer<typeof RoundFailed>;
export type Heartbeat = z.infer<typeof Heartbeat>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;

/**
 * WebSocket close codes used by the aggregator (4000-4999 is the application range).
 * Clients use them to decide whether reconnecting makes sense.
 */
export const CloseCode = {
  /** Authentication failed: unknown bank, bad or revoked token. Do not retry blindly. */
  Unauthorized: 4001,
  /** The first message was not a valid hello, or the protocol version is unsupported. */
  BadHello: 4002,
  /** The frame could not be decoded or exceeded the size limit. */
  BadFrame: 4003,
  /** No heartbeat within the timeout. */
  HeartbeatTimeout: 4004,
  /** Another connection authenticated as the same bank; this one is replaced. */
  Replaced: 4005,
  /** The aggregator is shutting down; reconnect later. */
  ShuttingDown: 4006,
  /**
   * The bank proved its identity but cannot join as it is: its data does not fit the model
   * (schema) or it speaks another protocol version. Retrying cannot help until that is fixed.
   */
  Incompatible: 4007,
  /** The bank kept sending frames over its rate limit; it may reconnect after a pause. */
  RateLimited: 4008,
} as const;
