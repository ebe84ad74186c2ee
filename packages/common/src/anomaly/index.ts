/**
 * Unsupervised anomaly detection for banks with few or no fraud labels: Isolation Forest
 * and Local Outlier Factor (novelty mode), robust z-scores against the bank's
 * population, reasons in words, contamination thresholds and JSON (de)serialisation.
 * Pure and seeded: no IO, randomness only from the Rng passed in.
 */
export { type Matrix, matrixFromRows, checkMatrix } from './matrix.js';
export { averagePathLength } from './path-length.js';
export { IsolationForest, type IsolationForestOptions, type IsolationForestTrees } from './isolation-forest.js';
// The two Isolation Forest walks scoreSamples chooses between, for A/B benches and tests.
export { walkJs, type Walker } from './walk-js.js';
export { wasmWalker } from './walk-wasm.js';
export { LocalOutlierFactor, type LofOptions, type LofModel } from './lof.js';
export { kNearest, type Neighbours } from './knn.js';
export { robustStats, robustZ, robustZScores, robustScale, type RobustStats } from './robust.js';
export { topReasons, describeReason, describeReasons, type Reason, type ReasonInput } from './reasons.js';
export { quantile, contaminationThreshold } from './threshold.js';
export {
  ANOMALY_FORMAT_VERSION,
  isolationForestToJson,
  isolationForestFromJson,
  lofToJson,
  lofFromJson,
  type IsolationForestJson,
  type LocalOutlierFactorJson,
} from './serialize.js';
