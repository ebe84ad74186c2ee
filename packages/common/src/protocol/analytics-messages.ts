/**
 * Wire messages of federated analytics jobs (segmentation, score calibration), separate from
 * training rounds. A job is a sequence of stages; in each the aggregator sends every asked
 * bank one `analytics_request`, and each bank answers with one `analytics_answer` (aggregates
 * only: moments, noised histograms, noised per-segment sums and counts, score-histogram
 * counts) or an `analytics_decline` with the reason (too few customers, no customer column,
 * privacy budget). When the job ends the aggregator sends `analytics_result` to the banks
 * that took part (final centres so each bank can place its own customers; the consortium
 * score threshold).
 *
 *   segmentation:  segment_moments → segment_histogram → segment_lloyd × iterations
 *   calibration:   calibration_histogram
 *
 * With secure aggregation on, every stage whose answers are only summed (the histogram, each
 * Lloyd iteration) is a SecAgg+ pass of five stages instead, each a task of its own
 * (`secagg_advertise` → `secagg_share` → `secagg_masked` → `secagg_consistency` →
 * `secagg_unmask`): the same protocol and checks as the training workflow's secure rounds
 * (common/secagg), with the job id as the round number and a fresh session per pass. The
 * masked task carries the summed task (`inner`); the bank answers it with its statistics as a
 * masked fixed-point vector (common/kmeans/secure-layout.ts).
 *
 * Validated at both ends, like every message (messages.ts).
 */
import { z } from 'zod';
import { text } from './text.js';
import {
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

const finite = z.number().finite();
const count = z.number().int().nonnegative();
const jobId = z.number().int().positive();
const stageIndex = z.number().int().nonnegative().max(10_000);
/** Features per customer and segments per job: small on purpose (dashboards show every centre). */
export const MAX_SEGMENT_FEATURES = 32;
export const MAX_SEGMENTS = 100;
/** Cells of the coarse initialisation histogram (bins^features). */
export const MAX_HISTOGRAM_CELLS = 1 << 16;
export const MAX_CALIBRATION_BINS = 10_000;

const vector = (max: number) => z.array(finite).max(max);

export const AnalyticsScaling = z
  .object({ mean: vector(MAX_SEGMENT_FEATURES), std: z.array(finite.positive()).max(MAX_SEGMENT_FEATURES) })
  .strict()
  .refine((s) => s.mean.length === s.std.length, { message: 'mean and std must have the same length' });
export type AnalyticsScaling = z.infer<typeof AnalyticsScaling>;

/** DP of a release: clip C (L2, scaled units) and noise multiplier z (σ = z · sensitivity). */
export const SegmentPrivacy = z
  .object({ clip: finite.positive().max(1e6), noiseMultiplier: finite.nonnegative().max(1e6) })
  .strict();

// ---------------------------------------------------------------- aggregator → bank: tasks

export const SegmentMomentsTask = z
  .object({ kind: z.literal('segment_moments'), minCustomers: count.max(1e9) })
  .strict();

export const SegmentHistogramTask = z
  .object({
    kind: z.literal('segment_histogram'),
    minCustomers: count.max(1e9),
    scaling: AnalyticsScaling,
    /** Public box in scaled units; points are clipped to it. */
    box: z.object({ lo: vector(MAX_SEGMENT_FEATURES), hi: vector(MAX_SEGMENT_FEATURES) }).strict(),
    bins: z.number().int().min(1).max(64),
    /** Noise multiplier of the histogram (sensitivity 1); 0 = exact counts. */
    noiseMultiplier: finite.nonnegative().max(1e6),
  })
  .strict();

export const SegmentLloydTask = z
  .object({
    kind: z.literal('segment_lloyd'),
    minCustomers: count.max(1e9),
    iteration: z.number().int().min(1).max(10_000),
    scaling: AnalyticsScaling,
    k: z.number().int().min(1).max(MAX_SEGMENTS),
    d: z.number().int().min(1).max(MAX_SEGMENT_FEATURES),
    /** k×d, row-major, scaled units. */
    centres: vector(MAX_SEGMENTS * MAX_SEGMENT_FEATURES),
    privacy: SegmentPrivacy.optional(),
  })
  .strict()
  .refine((t) => t.centres.length === t.k * t.d, { message: 'centres must have k × d values' });

export const CalibrationHistogramTask = z
  .object({
    kind: z.literal('calibration_histogram'),
    bins: z.number().int().min(2).max(MAX_CALIBRATION_BINS),
    minAccounts: count.max(1e9),
  })
  .strict();

// Secure sums (SecAgg+) of a summed stage's answers: one task per step of the pass.
export const SecAggAdvertiseTask = z
  .object({
    kind: z.literal('secagg_advertise'),
    session,
    participants: z.array(secaggBankId).min(2).max(10_000),
    threshold: z.number().int().min(2).max(255),
    graph: SecAggGraph,
    vectorLength: z
      .number()
      .int()
      .min(1)
      .max(MAX_HISTOGRAM_CELLS + 2 * MAX_SEGMENTS * (MAX_SEGMENT_FEATURES + 2)),
    fixedPoint: SecAggFixedPoint,
    identities: z
      .array(z.object({ bankId: secaggBankId, publicKey: key32 }).strict())
      .min(2)
      .max(10_000),
  })
  .strict();
export const SecAggShareTask = z
  .object({ kind: z.literal('secagg_share'), session, keys: z.array(KeyAdvertisementWire).min(2).max(255) })
  .strict();
export const SecAggMaskedTask = z
  .object({
    kind: z.literal('secagg_masked'),
    session,
    /** The stage whose answer the bank sums securely. */
    inner: z.discriminatedUnion('kind', [SegmentHistogramTask, SegmentLloydTask]),
    shares: z.array(incomingEnvelope).max(254),
  })
  .strict();
export const SecAggConsistencyTask = z
  .object({ kind: z.literal('secagg_consistency'), session, survivors: z.array(secaggBankId).min(2).max(10_000) })
  .strict();
export const SecAggUnmaskTask = z
  .object({
    kind: z.literal('secagg_unmask'),
    session,
    survivors: z.array(secaggBankId).min(2).max(10_000),
    signatures: z.array(z.object({ bankId: secaggBankId, signature: signature64 }).strict()).max(255),
  })
  .strict();

export const AnalyticsTask = z.discriminatedUnion('kind', [
  SegmentMomentsTask,
  SegmentHistogramTask,
  SegmentLloydTask,
  CalibrationHistogramTask,
  SecAggAdvertiseTask,
  SecAggShareTask,
  SecAggMaskedTask,
  SecAggConsistencyTask,
  SecAggUnmaskTask,
]);
export type AnalyticsTask = z.infer<typeof AnalyticsTask>;

export const AnalyticsRequest = z
  .object({
    type: z.literal('analytics_request'),
    jobId,
    stageIndex,
    /** For logs: "moments", "init", "lloyd 3", "histogram". */
    stage: text(64),
    /** Milliseconds until the stage closes, on the aggregator's clock (relative, as in RoundAssignment). */
    deadlineInMs: z.number().int().min(0).max(86_400_000),
    task: AnalyticsTask,
  })
  .strict();
export type AnalyticsRequest = z.infer<typeof AnalyticsRequest>;

export const SegmentationOutcome = z
  .object({
    kind: z.literal('segmentation'),
    features: z.array(text(64)).max(MAX_SEGMENT_FEATURES),
    scaling: AnalyticsScaling,
    k: z.number().int().min(1).max(MAX_SEGMENTS),
    d: z.number().int().min(1).max(MAX_SEGMENT_FEATURES),
    /** Final centres, scaled units, k×d. */
    centres: vector(MAX_SEGMENTS * MAX_SEGMENT_FEATURES),
    names: z.array(text(200)).max(MAX_SEGMENTS),
  })
  .strict();

export const CalibrationOutcome = z
  .object({
    kind: z.literal('calibration'),
    contamination: finite.gt(0).max(0.5),
    /** Anomaly score (IsolationForest, higher = more anomalous) above which an account is flagged. */
    threshold: finite,
    banks: z.number().int().min(1),
    accounts: count,
  })
  .strict();

export const AnalyticsResult = z
  .object({
    type: z.literal('analytics_result'),
    jobId,
    result: z.discriminatedUnion('kind', [SegmentationOutcome, CalibrationOutcome]),
  })
  .strict();
export type AnalyticsResult = z.infer<typeof AnalyticsResult>;

// ---------------------------------------------------------------- bank → aggregator

export const SegmentMomentsAnswer = z
  .object({
    kind: z.literal('segment_moments'),
    count,
    mean: vector(MAX_SEGMENT_FEATURES),
    m2: z.array(finite.nonnegative()).max(MAX_SEGMENT_FEATURES),
    /** Observation period in days (for tx_per_day): first to last transaction day. */
    periodDays: finite.positive().max(1e6),
  })
  .strict()
  .refine((a) => a.mean.length === a.m2.length, { message: 'mean and m2 must have the same length' });

export const SegmentHistogramAnswer = z
  .object({
    kind: z.literal('segment_histogram'),
    /** Noised cell counts (real-valued once noised). */
    counts: vector(MAX_HISTOGRAM_CELLS),
    noiseMultiplier: finite.nonnegative(),
  })
  .strict();

export const SegmentLloydAnswer = z
  .object({
    kind: z.literal('segment_lloyd'),
    iteration: z.number().int().min(1).max(10_000),
    /** k×d sums, k counts, k fraud counts (absent when the bank has no labels); noised with DP. */
    sums: vector(MAX_SEGMENTS * MAX_SEGMENT_FEATURES),
    counts: vector(MAX_SEGMENTS),
    frauds: vector(MAX_SEGMENTS).optional(),
    /** The DP the bank applied (its own settings may be stricter than the request). */
    privacy: SegmentPrivacy.optional(),
  })
  .strict();

export const CalibrationHistogramAnswer = z
  .object({
    kind: z.literal('calibration_histogram'),
    /** Accounts per bin of the "sigmoid+logit" layout (metrics/layout.ts) of logit(score). */
    counts: z.array(count).max(MAX_CALIBRATION_BINS),
    /** What was scored: per-account features, or transactions (banks without an account column). */
    source: z.enum(['accounts', 'transactions']),
  })
  .strict();

export const SecAggKeysAnswer = z
  .object({ kind: z.literal('secagg_keys'), session, advertisement: KeyAdvertisementWire })
  .strict();
export const SecAggSharesAnswer = z
  .object({
    kind: z.literal('secagg_shares'),
    session,
    seedCommitment: key32,
    shares: z
      .array(
        z
          .object({
            to: secaggBankId,
            ciphertext: incomingEnvelope.shape.ciphertext,
            seedShareHash: key32,
            keyShareHash: key32,
          })
          .strict(),
      )
      .max(254),
  })
  .strict();
export const SecAggMaskedAnswer = z
  .object({
    kind: z.literal('secagg_masked'),
    session,
    /** Ed25519 over (round, bank, SHA-256 of the masked words). */
    signature: signature64,
    /** The masked uint32 words (vectorLength of them). */
    masked: z
      .array(z.number().int().min(0).max(0xffffffff))
      .max(MAX_HISTOGRAM_CELLS + 2 * MAX_SEGMENTS * (MAX_SEGMENT_FEATURES + 2)),
    /** In the clear: the DP the bank applied (Lloyd: clip and z; histogram: z), for the per-bank accounting. */
    privacy: SegmentPrivacy.optional(),
    noiseMultiplier: finite.nonnegative().optional(),
  })
  .strict();
export const SecAggSignedAnswer = z
  .object({ kind: z.literal('secagg_signed'), session, signature: signature64 })
  .strict();
export const SecAggUnmaskAnswer = z
  .object({
    kind: z.literal('secagg_unmask'),
    session,
    seedShares: z.array(z.object({ of: secaggBankId, share: share33 }).strict()).max(255),
    keyShares: z.array(z.object({ of: secaggBankId, share: share33 }).strict()).max(255),
  })
  .strict();

export const AnalyticsAnswerBody = z.discriminatedUnion('kind', [
  SegmentMomentsAnswer,
  SegmentHistogramAnswer,
  SegmentLloydAnswer,
  CalibrationHistogramAnswer,
  SecAggKeysAnswer,
  SecAggSharesAnswer,
  SecAggMaskedAnswer,
  SecAggSignedAnswer,
  SecAggUnmaskAnswer,
]);
export type AnalyticsAnswerBody = z.infer<typeof AnalyticsAnswerBody>;

export const AnalyticsAnswer = z
  .object({ type: z.literal('analytics_answer'), jobId, stageIndex, answer: AnalyticsAnswerBody })
  .strict();
export type AnalyticsAnswer = z.infer<typeof AnalyticsAnswer>;

export const AnalyticsDecline = z
  .object({ type: z.literal('analytics_decline'), jobId, stageIndex, reason: text(500) })
  .strict();
export type AnalyticsDecline = z.infer<typeof AnalyticsDecline>;

export const AnalyticsServerMessage = z.discriminatedUnion('type', [AnalyticsRequest, AnalyticsResult]);
export type AnalyticsServerMessage = z.infer<typeof AnalyticsServerMessage>;

/**
 * What a bank sends in a job. Not part of FederationClientMessage on purpose: the aggregator's
 * socket hands analytics frames to the job runner before the training dispatch sees them
 * (server/plugins/bank-socket.ts), so `isAnalyticsFrame` decides by the header alone.
 */
export const AnalyticsClientMessage = z.discriminatedUnion('type', [AnalyticsAnswer, AnalyticsDecline]);
export type AnalyticsClientMessage = z.infer<typeof AnalyticsClientMessage>;

const ANALYTICS_PREFIX = new TextEncoder().encode('{"msg":{"type":"analytics_');

/**
 * Whether a binary frame (frame.ts: "FSF1" | u32 header length | JSON header …) carries an
 * analytics message, judged from the first bytes of its header without parsing it: our
 * encoder writes `{"msg":{"type":…` first. A frame that is not recognised here is decoded by
 * the training dispatch, which refuses an unknown type with a clear error.
 */
export function isAnalyticsFrame(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 8 + ANALYTICS_PREFIX.length) return false;
  for (let i = 0; i < ANALYTICS_PREFIX.length; i++) if (bytes[8 + i] !== ANALYTICS_PREFIX[i]) return false;
  return true;
}
