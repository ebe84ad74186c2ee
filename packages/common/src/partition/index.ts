/** Partitioners that split training rows among simulated banks, and the shard writer. */
export {
  iidPartition,
  dirichletPartition,
  quantityPartition,
  naturalPartition,
  schemeNeedsAlpha,
  schemeNeedsGroups,
  partitionDataset,
  partitionSummary,
  PARTITION_SCHEMES,
  type PartitionInput,
  type PartitionOptions,
  type SkewOptions,
  type QuantityOptions,
  type PartitionScheme,
  type AnyPartitionOptions,
} from './schemes.js';
export { naturalSkewPartition, groupRows, type NaturalSkewOptions } from './natural-skew.js';
export { sizeShares, SIZE_DISTRIBUTIONS, type SizeDistribution } from './sizes.js';
export { ensureMinFraud, ensureNonEmpty, PartitionError } from './constraints.js';
export { sampleGamma, sampleLogGamma, sampleDirichlet, apportion } from './gamma.js';
export {
  writePartitionFiles,
  type PartitionFilesOptions,
  type PartitionFilesHooks,
  type PartitionManifest,
  type ShardInfo,
} from './files.js';
