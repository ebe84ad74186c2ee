/**
 * Types shared across concepts. Kept here so that data, partitioners, SMOTE and the
 * model agree on one in-memory layout without importing each other.
 */

/**
 * A labelled tabular dataset held in memory, row-major. Features are float32 because
 * that is what the model consumes; nothing is copied on the way into a tensor.
 */
export interface Dataset {
  /** Row-major, numRows × numFeatures. */
  features: Float32Array;
  /** 1 = fraud, 0 = legitimate. */
  labels: Uint8Array;
  numRows: number;
  numFeatures: number;
  featureNames: string[];
  /**
   * Optional grouping key per row (e.g. customer id) used by the natural partitioner,
   * which keeps every group inside one bank. Not a feature.
   */
  groups?: string[];
  /** Optional time per row (seconds), used by time-ordered splits. Not a feature. */
  times?: Float64Array;
}

/** Shape of one tensor inside a flat weight vector. */
export interface TensorSpec {
  name: string;
  shape: number[];
}

/** Model weights as one flat Float32Array plus the manifest that says how to cut it. */
export interface FlatWeights {
  data: Float32Array;
  manifest: TensorSpec[];
}
