/** The bank daemon's settings: schema, loader, error texts, environment table and --help texts. */
export * from './schema.js';
export {
  BANK_FILE_KEYS,
  BankConfigError,
  checkConfigKeys,
  describeIssue,
  didYouMean,
  flagOf,
  SECRET_SETTINGS,
} from './problems.js';
export * from './load.js';
export * from './env.js';
export * from './help.js';
