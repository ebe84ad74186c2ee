/**
 * The parameters an admin gives a job (POST /api/jobs/segmentation, /api/jobs/calibration),
 * validated with zod; the same schemas document the routes in OpenAPI.
 */
import { z } from 'zod';
import { MAX_HISTOGRAM_CELLS, MAX_SEGMENTS } from '@finsecure/common/protocol';
import { CUSTOMER_FEATURES, MIN_SEGMENT_NOISE_MULTIPLIER } from '@finsecure/common/kmeans';

const common = {
  /** Each stage closes after this long even if banks are missing (ms). */
  stageTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * With `rules.secureAggregation` on, a segmentation's sums are summed securely (secure-sums.ts)
   * unless this is true; a calibration's histogram has no secure path and runs only when true.
   */
  allowPlaintext: z.boolean().default(false),
};

// The least noise multiplier a job may ask for is common/kmeans MIN_SEGMENT_NOISE_MULTIPLIER, the
// banks' default segmentMinNoiseMultiplier too: a job asking for less would be answered only as an
// exact one (a bank's segmentExact), and an exact job is asked without `privacy`.

/** The runner prefixes the field's path (privacy.noiseMultiplier: …). */
const noiseMultiplier = () =>
  z
    .number()
    .min(MIN_SEGMENT_NOISE_MULTIPLIER, {
      message: `must be at least ${MIN_SEGMENT_NOISE_MULTIPLIER}: less noise than that is no differential privacy (banks answer it only as an exact job; leave out "privacy" for one)`,
    })
    .max(1000);

export const SegmentationParams = z
  .object({
    k: z.number().int().min(1).max(MAX_SEGMENTS).default(4),
    /** Round budget: at most this many Lloyd stages. */
    maxIterations: z.number().int().min(1).max(500).default(30),
    /** Converged when the total squared centre shift (scaled units) is at most this. */
    tol: z.number().min(0).max(1).default(1e-10),
    /** A bank with fewer customers declines (FLARE's minimum-count filter). */
    minCustomers: z.number().int().min(1).max(1_000_000).default(10),
    /** Bins per feature of the coarse initialisation histogram (bins^6 cells). */
    bins: z.number().int().min(1).max(6).default(4),
    /** Half-width of the public box, in consortium standard deviations, for the histogram. */
    boxZ: z.number().positive().max(100).default(3),
    /** Seed of the k-means++ draw on the merged histogram (aggregator side, public data). */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    /** Differential privacy of the banks' releases; absent: exact statistics. */
    privacy: z
      .object({
        /** L2 bound of each customer's scaled feature vector. */
        clip: z.number().positive().max(1000).default(4),
        /** Noise multiplier of every Lloyd release (σ = z·√(C² + 2)); at least MIN_SEGMENT_NOISE_MULTIPLIER. */
        noiseMultiplier: noiseMultiplier(),
        /** Noise multiplier of the histogram release (sensitivity 1); default: noiseMultiplier. */
        histogramNoiseMultiplier: noiseMultiplier().optional(),
        delta: z.number().positive().lt(1).default(1e-5),
      })
      .strict()
      .optional(),
    ...common,
  })
  .strict()
  .refine((p) => p.bins ** CUSTOMER_FEATURES.length <= MAX_HISTOGRAM_CELLS, {
    message: `bins^${CUSTOMER_FEATURES.length} must be at most ${MAX_HISTOGRAM_CELLS} cells`,
    path: ['bins'],
  });
export type SegmentationParams = z.infer<typeof SegmentationParams>;

export const CalibrationParams = z
  .object({
    /** Expected share of anomalous accounts: the threshold is the consortium's (1 − contamination) quantile. */
    contamination: z.number().gt(0).max(0.5).default(0.01),
    /**
     * Bins of the score histogram. Banks send at most their `calibrationMaxBins` (default 100):
     * a finer histogram puts most accounts alone in their bin.
     */
    bins: z.number().int().min(2).max(10_000).default(100),
    /** A bank with fewer scored accounts declines. */
    minAccounts: z.number().int().min(1).max(1_000_000).default(10),
    ...common,
  })
  .strict();
export type CalibrationParams = z.infer<typeof CalibrationParams>;
