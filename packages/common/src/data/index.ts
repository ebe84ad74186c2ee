/** Data loading, scaling, splitting, writing and synthetic data. */
export { DataError } from './errors.js';
export { isGzipFile, splitCsvLine, quoteCsvField, spreadsheetSafeField } from './csv.js';
export { redactPaths } from './redact-paths.js';
export {
  detectLayout,
  planColumns,
  KAGGLE_FEATURES,
  KAGGLE_LABEL,
  HANDBOOK_FEATURES,
  HANDBOOK_LABEL,
  HANDBOOK_GROUP,
  HANDBOOK_TIME,
  HANDBOOK_IGNORED,
  FINSECURE_LABEL,
  FINSECURE_GROUP,
  FINSECURE_TIME,
  type ColumnMapping,
  type ColumnPlan,
  type LayoutName,
} from './layouts.js';
export { columnMappingSchema, parseColumnMapping } from './mapping-schema.js';
export { parseHeader, unnamedColumnName, type ParsedHeader } from './header.js';
export {
  parseDecimal,
  isDecimalNotation,
  describeNumberProblem,
  checkFloat32,
  FLOAT32_MAX,
  type NumberProblem,
} from './numbers.js';
export { loadCsv, loadDataset, type LoadOptions, type LoadResult } from './loader.js';
export {
  computeScalerStats,
  mergeScalerStats,
  scalerFromStats,
  applyScaler,
  MIN_STD,
  type Scaler,
  type ScalerStats,
} from './scaler.js';
export {
  stratifiedSplit,
  timeSplit,
  subset,
  declareTrainingData,
  isTrainingSplit,
  isTestSplit,
  splitKind,
  type SplitResult,
  type TrainingSplit,
  type TestSplit,
} from './split.js';
export { writeCsv, layoutForWriting, formatFloat32, CsvFileWriter, type WriteOptions } from './writer.js';
export { generateSynthetic, writeSyntheticCsv, SyntheticSource, type SyntheticOptions } from './synthetic.js';
