/**
 * Strategies by name, with options validated at run time (they usually come from an
 * admin's configuration file). Add robust strategies (trimmed mean, Krum) here.
 */
import { z } from 'zod';
import { FedAvg } from './fedavg.js';
import { FedMedian } from './fedmedian.js';
import type { Strategy } from './types.js';

export const FedAvgOptionsSchema = z.strictObject({
  maxShare: z.number().gt(0).max(1).optional(),
  normalizeSteps: z.boolean().optional(),
  lossExponent: z.number().min(0).max(4).optional(),
  serverLearningRate: z.number().gt(0).max(10).optional(),
  serverMomentum: z.number().min(0).lt(1).optional(),
});
export const FedMedianOptionsSchema = z.strictObject({});

export const STRATEGY_NAMES = ['fedavg', 'fedmedian'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface StrategyOptions {
  fedavg: z.input<typeof FedAvgOptionsSchema>;
  fedmedian: z.input<typeof FedMedianOptionsSchema>;
}

export function createStrategy<N extends StrategyName>(name: N, options?: StrategyOptions[N]): Strategy;
export function createStrategy(name: string, options?: unknown): Strategy;
export function createStrategy(name: string, options: unknown = {}): Strategy {
  switch (name) {
    case 'fedavg':
      return new FedAvg(parse(name, FedAvgOptionsSchema, options));
    case 'fedmedian':
      parse(name, FedMedianOptionsSchema, options);
      return new FedMedian();
    default:
      throw new Error(`unknown strategy "${name}"; known strategies: ${STRATEGY_NAMES.join(', ')}`);
  }
}

function parse<T>(name: string, schema: z.ZodType<T>, options: unknown): T {
  const r = schema.safeParse(options ?? {});
  if (!r.success) throw new Error(`invalid options for strategy "${name}": ${z.prettifyError(r.error)}`);
  return r.data;
}
