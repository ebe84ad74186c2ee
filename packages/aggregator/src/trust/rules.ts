/**
 * Round rules of the trust bounds (issue 12, part A): how far the aggregator believes a
 * bank's example counts, evaluation counts and declared DP. Defaulted, so settings stored
 * before they existed still validate. Spread into RoundRules (round/rules.ts).
 */
import { DEFAULT_EVALUATION_MAX_SHARE } from '@finsecure/common/metrics';
import { z } from 'zod';
import { DEFAULT_MAX_EXAMPLE_RATIO, DEFAULT_WEIGHT_MAX_SHARE } from './weight-bound.js';
import { DEFAULT_MAX_NOISE_MULTIPLIER } from './update-norm.js';

export const TRUST_RULE_FIELDS = {
  /**
   * An unregistered bank's FedAvg weight is at most this × the median of the other banks'
   * declared training examples (trust/weight-bound.ts). Banks an admin registered with a
   * fixed count are exempt.
   */
  maxExampleRatio: z.number().min(1).max(1e6).default(DEFAULT_MAX_EXAMPLE_RATIO),
  /** Cap on an unregistered bank's share of a round's FedAvg weight (1 = none). */
  weightMaxShare: z.number().gt(0).max(1).default(DEFAULT_WEIGHT_MAX_SHARE),
  /** Cap on a bank's share of the pooled evaluation, per class (1 = none; common/metrics/shares.ts). */
  evaluationMaxShare: z.number().gt(0).max(1).default(DEFAULT_EVALUATION_MAX_SHARE),
  /** Largest DP noise multiplier an update may declare (its norm bound grows with it; trust/update-norm.ts). */
  maxNoiseMultiplier: z.number().gt(0).max(10_000).default(DEFAULT_MAX_NOISE_MULTIPLIER),
};

export const DEFAULT_TRUST_RULES = {
  maxExampleRatio: DEFAULT_MAX_EXAMPLE_RATIO,
  weightMaxShare: DEFAULT_WEIGHT_MAX_SHARE,
  evaluationMaxShare: DEFAULT_EVALUATION_MAX_SHARE,
  maxNoiseMultiplier: DEFAULT_MAX_NOISE_MULTIPLIER,
};
