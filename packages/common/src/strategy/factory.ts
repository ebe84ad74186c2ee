/**
 * Strategies by name, with options validated at run time (they usually come from an
 * admin's configuration file). Every strategy also takes the adaptive norm bound options
 * (`adaptiveNormK`, `adaptiveNormAction`), which wrap it in AdaptiveNormBound.
 */
import { z } from 'zod';
import { Bulyan } from './bulyan.js';
import { CenteredClipping } from './centered-clipping.js';
import { FedAvg } from './fedavg.js';
import { FedMedian } from './fedmedian.js';
import { Krum, MultiKrum } from './krum.js';
import { AdaptiveNormBound } from './norm-bound.js';
import { TrimmedMean } from './trimmed-mean.js';
import type { Strategy } from './types.js';

const adaptiveNorm = {
  /** k ≥ 1; absent: no adaptive norm bound. */
  adaptiveNormK: z
    .number()
    .min(1, 'adaptiveNormK must be >= 1 (k × the median norm; below 1 it refuses honest banks)')
    .optional(),
  adaptiveNormAction: z.enum(['reject', 'clip']).optional(),
};
const byzantineF = z
  .number()
  .int('byzantineF must be an integer (the number of Byzantine banks tolerated)')
  .min(0, 'byzantineF must be >= 0');

export const FedAvgOptionsSchema = z.strictObject({
  maxShare: z.number().gt(0).max(1).optional(),
  normalizeSteps: z.boolean().optional(),
  lossExponent: z.number().min(0).max(4).optional(),
  serverLearningRate: z.number().gt(0).max(10).optional(),
  serverMomentum: z.number().min(0).lt(1).optional(),
  ...adaptiveNorm,
});
export const FedMedianOptionsSchema = z.strictObject({ ...adaptiveNorm });
export const KrumOptionsSchema = z.strictObject({ byzantineF, ...adaptiveNorm });
export const MultiKrumOptionsSchema = z.strictObject({
  byzantineF,
  /** 0 or absent: n − f. */
  multiKrumM: z
    .number()
    .int('multiKrumM must be an integer (how many updates Multi-Krum averages)')
    .min(0, 'multiKrumM must be >= 0 (0 = n - f)')
    .optional(),
  ...adaptiveNorm,
});
export const BulyanOptionsSchema = z.strictObject({ byzantineF, ...adaptiveNorm });
export const TrimmedMeanOptionsSchema = z.strictObject({
  trimFraction: z
    .number()
    .min(0, 'trimFraction must be in [0, 0.5)')
    .lt(0.5, 'trimFraction must be in [0, 0.5) (the fraction dropped from EACH end)'),
  ...adaptiveNorm,
});
export const CenteredClippingOptionsSchema = z.strictObject({
  clipRadius: z
    .number()
    .gt(0, 'clipRadius must be > 0 (an L2 norm)')
    .refine(Number.isFinite, 'clipRadius must be finite'),
  clipIterations: z.number().int('clipIterations must be an integer').min(1).max(100).optional(),
  ...adaptiveNorm,
});

export const STRATEGY_NAMES = [
  'fedavg',
  'fedmedian',
  'krum',
  'multikrum',
  'bulyan',
  'trimmed-mean',
  'centered-clipping',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Strategies that buffer every update of a round (memory banks × model). */
export const BUFFERING_STRATEGIES: readonly StrategyName[] = [
  'fedmedian',
  'krum',
  'multikrum',
  'bulyan',
  'trimmed-mean',
];

export interface StrategyOptions {
  fedavg: z.input<typeof FedAvgOptionsSchema>;
  fedmedian: z.input<typeof FedMedianOptionsSchema>;
  krum: z.input<typeof KrumOptionsSchema>;
  multikrum: z.input<typeof MultiKrumOptionsSchema>;
  bulyan: z.input<typeof BulyanOptionsSchema>;
  'trimmed-mean': z.input<typeof TrimmedMeanOptionsSchema>;
  'centered-clipping': z.input<typeof CenteredClippingOptionsSchema>;
}

export function createStrategy<N extends StrategyName>(name: N, options?: StrategyOptions[N]): Strategy;
export function createStrategy(name: string, options?: unknown): Strategy;
export function createStrategy(name: string, options: unknown = {}): Strategy {
  const build = (): [
    Strategy,
    { adaptiveNormK?: number | undefined; adaptiveNormAction?: 'reject' | 'clip' | undefined },
  ] => {
    switch (name) {
      case 'fedavg': {
        const { adaptiveNormK, adaptiveNormAction, ...o } = parse(name, FedAvgOptionsSchema, options);
        return [new FedAvg(o), { adaptiveNormK, adaptiveNormAction }];
      }
      case 'fedmedian': {
        const o = parse(name, FedMedianOptionsSchema, options);
        return [new FedMedian(), o];
      }
      case 'krum': {
        const { byzantineF: f, ...o } = parse(name, KrumOptionsSchema, options);
        return [new Krum({ byzantineF: f }), o];
      }
      case 'multikrum': {
        const { byzantineF: f, multiKrumM, ...o } = parse(name, MultiKrumOptionsSchema, options);
        return [new MultiKrum({ byzantineF: f, multiKrumM: multiKrumM ?? 0 }), o];
      }
      case 'bulyan': {
        const { byzantineF: f, ...o } = parse(name, BulyanOptionsSchema, options);
        return [new Bulyan({ byzantineF: f }), o];
      }
      case 'trimmed-mean': {
        const { trimFraction, ...o } = parse(name, TrimmedMeanOptionsSchema, options);
        return [new TrimmedMean({ trimFraction }), o];
      }
      case 'centered-clipping': {
        const { clipRadius, clipIterations, ...o } = parse(name, CenteredClippingOptionsSchema, options);
        return [new CenteredClipping({ clipRadius, clipIterations: clipIterations ?? 1 }), o];
      }
      default:
        throw new Error(`unknown strategy "${name}"; known strategies: ${STRATEGY_NAMES.join(', ')}`);
    }
  };
  const [strategy, { adaptiveNormK, adaptiveNormAction }] = build();
  if (adaptiveNormK === undefined) {
    if (adaptiveNormAction !== undefined)
      throw new Error(`invalid options for strategy "${name}": adaptiveNormAction needs adaptiveNormK`);
    return strategy;
  }
  return new AdaptiveNormBound(strategy, { adaptiveNormK, adaptiveNormAction: adaptiveNormAction ?? 'reject' });
}

function parse<T>(name: string, schema: z.ZodType<T>, options: unknown): T {
  const r = schema.safeParse(options ?? {});
  if (!r.success) throw new Error(`invalid options for strategy "${name}": ${z.prettifyError(r.error)}`);
  return r.data;
}
