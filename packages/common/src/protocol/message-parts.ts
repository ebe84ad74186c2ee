/**
 * The building blocks of the protocol's messages (messages.ts): identifiers and counts, the
 * training configuration, DP parameters, evaluation counts and score histograms, feature
 * statistics and the scaler. The field validators (`bankId`, `count`, `finite`, `roundId`) are
 * for the message files only: the package's index does not export them.
 */
import { z } from 'zod';
import { HISTOGRAM_LOGIT_MAX, HISTOGRAM_SCALE, MAX_HISTOGRAM_BINS, MIN_HISTOGRAM_BINS } from '../metrics/layout.js';

export const PROTOCOL_VERSION = 1;

export const bankId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'bank id may contain letters, digits, "_", "." and "-"');
export const count = z.number().int().nonnegative();
export const finite = z.number().finite();

/**
 * An array of at most `max` counts (non-negative safe integers), checked in one plain loop.
 * `z.array(count)` validates element by element through zod's machinery: ~230 µs for the two
 * 1,000-bin histograms of one evaluation, the largest per-bank cost of a round at 1,000 banks
 * (bench/RESULTS.md, Issue 14). The error names the first bad entry. Exported for the tests.
 */
export function countArray(max: number) {
  return z.custom<number[]>((v) => badCount(v, max) === null, {
    error: (issue) => badCount(issue.input, max) ?? 'invalid count array',
  });
}

/**
 * `countArray` that also takes a Uint32Array (every uint32 is a count): the histograms of an
 * evaluation frame whose arrays travelled as tensors (tensor-fields.ts).
 */
export function countArrayOrUint32(max: number) {
  return z.custom<number[] | Uint32Array>((v) => badCount(v, max) === null, {
    error: (issue) => badCount(issue.input, max) ?? 'invalid count array',
  });
}

/** Why `v` is not an array of at most `max` counts (or a Uint32Array of at most `max`), or null when it is. */
function badCount(v: unknown, max: number): string | null {
  if (v instanceof Uint32Array) return v.length > max ? `expected at most ${max} counts, got ${v.length}` : null;
  if (!Array.isArray(v)) return `expected an array of counts, got ${v === null ? 'null' : typeof v}`;
  if (v.length > max) return `expected at most ${max} counts, got ${v.length}`;
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)
      return `entry ${i} is ${JSON.stringify(x) ?? String(x)}: expected a non-negative integer`;
  }
  return null;
}
export const roundId = z.number().int().nonnegative();

export const Encoding = z.enum(['float32', 'float16', 'int8']);
export type Encoding = z.infer<typeof Encoding>;

export const TrainingBackend = z.enum(['tensorflow', 'wasm', 'cpu']);
export type TrainingBackend = z.infer<typeof TrainingBackend>;

/** Differential-privacy parameters for one bank's update (Gaussian mechanism). */
export const DpParams = z.object({
  /** L2 clipping bound C of the whole update. */
  clip: finite.positive(),
  /** Noise multiplier Z: noise standard deviation is Z·C. */
  noiseMultiplier: finite.nonnegative(),
  /** δ used when converting Rényi-DP to (ε, δ). */
  delta: finite.positive().lt(1).default(1e-5),
  /** Stop participating before ε would exceed this (undefined: no budget). */
  epsilonBudget: finite.positive().optional(),
});
export type DpParams = z.infer<typeof DpParams>;

/** What a bank is asked to do in a fit stage. Sent by the aggregator, chosen by admins. */
export const TrainingConfig = z.object({
  epochs: z.number().int().min(1).max(1000),
  batchSize: z.number().int().min(1).max(65536),
  learningRate: finite.positive().max(10),
  /**
   * SMOTE target: minority/majority ratio after oversampling the local TRAINING split
   * (0 disables SMOTE). Example counts reported upstream are always pre-oversampling.
   */
  smoteRatio: finite.min(0).max(1),
  smoteK: z.number().int().min(1).max(50).default(5),
  /**
   * SMOTE cap: at most this many synthetic rows per REAL fraud row of the bank, even if
   * `smoteRatio` is then not reached (a bank with 1 fraud among 25,000 rows would
   * otherwise train on 2,500 copies of it). Absent: no cap, as before this field existed
   * (older banks ignore it and oversample uncapped).
   */
  smoteMaxMultiplier: finite.positive().max(1_000_000).optional(),
  /** Server-requested DP. A bank's own DP settings, if stricter, take precedence. */
  dp: DpParams.optional(),
  /** Encoding of the update on the wire. */
  updateEncoding: Encoding.default('float32'),
  /** Seed offset so that local training is reproducible in simulations. */
  seed: z.number().int().optional(),
});
export type TrainingConfig = z.infer<typeof TrainingConfig>;

export const Timings = z.object({
  /** Milliseconds spent training locally (after the assignment arrived). */
  trainMs: finite.nonnegative(),
  /** Milliseconds preparing the update (delta, clipping, noise, encoding). */
  prepareMs: finite.nonnegative().default(0),
});

export const Confusion = z.object({ tp: count, fp: count, tn: count, fn: count });
export type Confusion = z.infer<typeof Confusion>;

/**
 * Score histograms that can be summed across banks (see metrics/layout.ts). Self-describing:
 * `scale` and `logitMax` name the bin layout, and only the layout this version sums is
 * accepted, so a bank of another version is refused with a message saying so instead of
 * having its counts added to bins that mean something else. Layout 1 (equal-width
 * probability bins, no `scale` field) is refused.
 */
const shown = (input: unknown) => (input === undefined ? 'missing' : JSON.stringify(input));
const scaleError = (issue: { input?: unknown }) =>
  `histogram scale is ${shown(issue.input)}: expected the "${HISTOGRAM_SCALE}" layout with logits clamped to ±${HISTOGRAM_LOGIT_MAX} (bank and aggregator run different FinSecure versions; layout 1, equal-width probability bins, is no longer summed)`;
const rangeError = (issue: { input?: unknown }) =>
  `histogram logitMax is ${shown(issue.input)}: expected ${HISTOGRAM_LOGIT_MAX}`;
const layoutFields = {
  scale: z.literal(HISTOGRAM_SCALE, { error: scaleError }),
  logitMax: z.literal(HISTOGRAM_LOGIT_MAX, { error: rangeError }),
  bins: z.number().int().min(MIN_HISTOGRAM_BINS).max(MAX_HISTOGRAM_BINS),
};
const binsMatch = (h: { bins: number; positives: ArrayLike<number>; negatives: ArrayLike<number> }) =>
  h.positives.length === h.bins && h.negatives.length === h.bins;
const BINS_MISMATCH = { message: 'histogram arrays must have exactly `bins` entries' };
export const ScoreHistogram = z
  .object({ ...layoutFields, positives: countArray(MAX_HISTOGRAM_BINS), negatives: countArray(MAX_HISTOGRAM_BINS) })
  .refine(binsMatch, BINS_MISMATCH);
/**
 * A histogram as an evaluation frame carries it: its counts as JSON arrays, or as uint32 tensors
 * (tensor-fields.ts) that the decoder puts back as Uint32Arrays.
 */
export const ReceivedHistogram = z
  .object({
    ...layoutFields,
    positives: countArrayOrUint32(MAX_HISTOGRAM_BINS),
    negatives: countArrayOrUint32(MAX_HISTOGRAM_BINS),
  })
  .refine(binsMatch, BINS_MISMATCH);
export type ScoreHistogram = z.infer<typeof ScoreHistogram>;

/**
 * Mergeable feature statistics of a bank's TRAINING split: row count, per-feature mean
 * and M2 = Σ(x − mean)² (float64, computed per bank by the corrected two-pass algorithm).
 * Aggregates only, never rows: the aggregator merges them with Chan, Golub & LeVeque's
 * parallel formula (1979) into one global standard scaler, so that every bank feeds the
 * model identically scaled inputs. (count, Σx, Σx²) was dropped: it cancels
 * catastrophically for features whose mean is large against their spread.
 * The arrays must have the hello's `numFeatures` entries (checked in `Hello`).
 */
export const FeatureStats = z
  .strictObject({
    count: count,
    mean: z.array(finite).max(10_000),
    m2: z.array(finite.nonnegative()).max(10_000),
  })
  .refine((s) => s.mean.length === s.m2.length, { message: 'mean and m2 must have the same length' });
export type FeatureStats = z.infer<typeof FeatureStats>;

/** The global standard scaler, fixed for the life of a federation (the model depends on it). */
export const Scaler = z
  .object({
    mean: z.array(finite).max(10_000),
    std: z.array(finite.positive()).max(10_000),
  })
  .refine((s) => s.mean.length === s.std.length, { message: 'mean and std must have the same length' });
export type Scaler = z.infer<typeof Scaler>;
