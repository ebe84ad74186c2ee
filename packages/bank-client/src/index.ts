export * from './config/index.js';
export * from './client.js';
export { CLIENT_VERSION } from './hello.js';
export * from './local-data.js';
export * from './round-work.js';
export * from './score.js';
export {
  buildConsole,
  consoleAccounts,
  consoleDbPath,
  DEFAULT_CONSOLE_HOST,
  type BankConsole,
  type ConsoleOptions,
} from './console/server.js';
export {
  createEnvelopeCipher,
  loadOrCreateStateKeyFile,
  openBankState,
  writeNewStateKeyFile,
  StateKeyError,
  type StateKey,
} from './state-crypto/index.js';
// The feedback loop's pieces, for the research harness's oracle analyst (packages/research feedback/).
export { DEFAULT_FEEDBACK_WEIGHT, FeedbackSource, type FeedbackRead } from './feedback.js';
export { ConsoleDb, type AlertInput, type Decision } from './console/db.js';
