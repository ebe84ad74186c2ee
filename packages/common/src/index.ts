/**
 * @finsecure/common: what the aggregator, the bank client and the research tools share.
 * Import from the subpaths (`@finsecure/common/protocol`, `/model`, `/data`, `/metrics`,
 * `/strategy`, `/dp`, `/rng`, `/api`) to pull in only what you need; this index exposes
 * them as namespaces.
 */
export * as protocol from './protocol/index.js';
export * as model from './model/index.js';
export * as data from './data/index.js';
export * as metrics from './metrics/index.js';
export * as strategy from './strategy/index.js';
export * as dp from './dp/index.js';
export * as smote from './smote/index.js';
export * as partition from './partition/index.js';
export * as rng from './rng/index.js';
export type * from './api/index.js';
export type { Dataset, FlatWeights, TensorSpec } from './types/index.js';
