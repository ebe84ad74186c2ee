/**
 * Account-level behaviour features from transaction files (handbook, Berka trans.asc,
 * plain exports), computed inside the bank, and the account anomaly report.
 */
export { parseTimestamp, weekday, TIMESTAMP_FORMATS, type WallClock } from './timestamp.js';
export {
  ACCOUNT_LAYOUTS,
  detectAccountLayout,
  planAccountColumns,
  type AccountColumns,
  type AccountLayoutName,
} from './layouts.js';
export {
  AccountAggregator,
  featureNamesFor,
  FEATURE_LABELS,
  LAYOUT_CAPABILITIES,
  type AccountTable,
  type LayoutCapabilities,
  type Transaction,
} from './features.js';
export { readAccountTable, splitSemicolonLine, type ReadAccountsOptions } from './read.js';
export {
  buildAccountReport,
  type AccountDetector,
  type AccountReport,
  type AccountReportOptions,
  type AccountReportRow,
} from './report.js';
export { accountReportCsv } from './csv.js';
